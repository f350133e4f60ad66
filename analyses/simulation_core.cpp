// The event loop of analyses/simulation.py, in C++ for speed (ResNet-50 moves ~5*10^7 beats per inference).
//
// Every process has a list of event iterations (those that move a beat), given for one inference:
// inference m's event j is iteration m * iterations + events[j], and a port's beat k of inference m
// is that inference's event pos[k]. The lists are passed by address (ev_addr, pos_addr: the caller's arrays, not
// copied); a process whose every iteration is an event has none (address 0), nor has a port that moves a beat
// at every event of its process: both are the identity. Event i starts at
//   t_i = max(t_{i-1} + (e_i - e_{i-1}),  write time of each beat it reads + 1,
//             read time of beat k - depth of each beat k it writes + 1 - latency),   t_0 >= e_0,
// and a beat is written at t_i + latency; a process given release times (release_off >= 0: its events'
// in `release`, all inferences) starts no event before its release. A start later than
// max(t_{i-1} + (e_i - e_{i-1}), release) is a stall, counted as blocked when a full output set it
// (its write term is the larger), else as starved.
// Every term refers to an earlier cycle, so the times are computed in dependency order: each
// process runs until it needs a time not computed yet, and is woken when the process at the other
// end of the FIFO it waits on moves (then it can move: that FIFO's next beat, or next free slot, is
// the one it needs). A kernel's depth-2 streams make such hand-overs happen every beat or two, so
// a wake costs little: a process's place in its event list is kept, not recomputed. When no
// process can move, the unfinished ones are deadlocked.
// The times are 32-bit where every one fits (half the memory and memory traffic: ResNet-50's array is ~1.3 * 10^8
// events), else 64-bit: dfcc_simulate reports a 32-bit array's overflow, and the caller runs again at 64 bits.
#include <climits>
#include <cstdint>
#include <limits>
#include <vector>

namespace {

// beat k = m * beats + r of a port, kept as (m, r) so that no step divides
struct Beat {
    int64_t m = 0, r = 0;
    void advance(int64_t beats) {
        if (++r == beats) { r = 0; m++; }
    }
};

// one FIFO end, with what the loop reads of it together (the flat input arrays scatter it over ~10 arrays)
struct Port {
    int64_t proc = 0, base = 0, once = 0, beats = 0, latency = 0, depth = 0, peer = -1, peer_proc = -1;
    const int64_t* pos = nullptr;
    bool write = false, dense = false;  // dense: the port moves a beat at every event (pos is the identity)
    Beat own, behind;  // its next beat; for a write, the beat `depth` behind it (whose read frees its slot)
    int64_t next = -1, cursor = 0;
    // index into `times` of the event moving beat b of this port
    int64_t event_of(const Beat& b) const { return base + b.m * once + (dense ? b.r : pos[b.r]); }
};

// where a process is in its event list: event i (over all inferences) is event j of inference m
struct Place {
    int64_t i = 0, m = 0, j = 0;
};

// peak occupancy of a FIFO: beats held just after each write (written so far minus read before it); with `check`,
// -1 if a beat is read no later than the cycle it is written (the reader's times are then no schedule of it)
template <class W, class R>
int64_t peak_of(const Port& writer, const W* w_times, const Port& reader, const R* r_times, int64_t n_inf, bool check) {
    const int64_t beats = writer.beats, total = n_inf * beats;
    Beat wb, rb;
    int64_t taken = 0, peak = 0;
    for (int64_t k = 0; k < total; k++, wb.advance(beats)) {
        const int64_t written = int64_t(w_times[writer.event_of(wb)]) + writer.latency;
        if (check && int64_t(r_times[reader.event_of(wb)]) <= written) return -1;
        while (taken < total && int64_t(r_times[reader.event_of(rb)]) < written) { taken++; rb.advance(beats); }
        if (k + 1 - taken > peak) peak = k + 1 - taken;
    }
    return peak;
}

// a process's constants and its place in its event list, together: a hand-over to another process (about one
// every three events) then reads one cache line or two, not ~10 input arrays
struct Proc {
    int64_t first = 0, n = 0, once = 0, iters = 0;  // its events' index in `times`, their count, per inference
    const int64_t* ev = nullptr;                     // its event iterations (null: every iteration)
    const int64_t* released = nullptr;               // its release times (null: none)
    int64_t port_begin = 0, port_end = 0;            // its ports, contiguous in `ports`
    Place at;
    int64_t waits_on = -1;                           // the port whose other end it waits on to move (-1: none)
    bool queued = true;
};

// 0: done, 1: deadlocked, 2: a time past what T holds (nothing written but `times`)
template <class T>
int simulate(
    int n_proc, int n_inf, const int64_t* ev_off, const int64_t* ev_addr,
    const int64_t* iterations, const int64_t* latency, const int64_t* port_proc, const int64_t* port_chan,
    const int64_t* port_is_write, const int64_t* port_beats, const int64_t* pos_addr,
    int n_chan, const int64_t* chan_depth, const int64_t* chan_writer_port, const int64_t* chan_reader_port,
    const int64_t* proc_port_off, const int64_t* proc_ports, const int64_t* release_off, const int64_t* release,
    T* times, int64_t* pc, int64_t* cursor, int64_t* starved, int64_t* blocked, int64_t* peak) {
    const int64_t n_port = proc_port_off[n_proc];
    // the ports in proc_ports order (each process's contiguous, no pointer to follow); slot[q]: input port q's
    std::vector<int64_t> slot(n_port);
    for (int64_t s = 0; s < n_port; s++) slot[proc_ports[s]] = s;
    std::vector<Port> ports(n_port);
    for (int64_t q = 0; q < n_port; q++) {
        Port& port = ports[slot[q]];
        const int64_t p = port_proc[q], ch = port_chan[q];
        port.proc = p;
        port.base = n_inf * ev_off[p];
        port.once = ev_off[p + 1] - ev_off[p];
        port.beats = port_beats[q];
        port.latency = latency[p];
        port.depth = chan_depth[ch];
        port.write = port_is_write[q] != 0;
        const int64_t peer = port.write ? chan_reader_port[ch] : chan_writer_port[ch];
        port.peer = peer >= 0 ? slot[peer] : -1;
        port.pos = reinterpret_cast<const int64_t*>(pos_addr[q]);
        port.dense = port.pos == nullptr;
        port.cursor = cursor[q];
        port.next = port.beats ? port.event_of(port.own) : -1;
    }
    for (Port& port : ports) port.peer_proc = port.peer >= 0 ? ports[port.peer].proc : -1;
    std::vector<Proc> procs(n_proc);
    for (int p = 0; p < n_proc; p++) {
        Proc& proc = procs[p];
        proc.once = ev_off[p + 1] - ev_off[p];
        proc.first = n_inf * ev_off[p];
        proc.n = n_inf * proc.once;
        proc.iters = iterations[p];
        proc.ev = reinterpret_cast<const int64_t*>(ev_addr[p]);
        proc.released = release_off[p] >= 0 ? release + release_off[p] : nullptr;
        proc.port_begin = proc_port_off[p];
        proc.port_end = proc_port_off[p + 1];
        proc.at.i = pc[p];
        proc.at.m = proc.once ? pc[p] / proc.once : 0;
        proc.at.j = pc[p] - proc.at.m * proc.once;
    }
    // processes that may move; a process that stopped is queued again only when the other end of the
    // port it waits on (`waits_on`) moves
    std::vector<int> queue;
    for (int p = n_proc - 1; p >= 0; p--) queue.push_back(p);
    while (!queue.empty()) {
        const int p = queue.back();
        queue.pop_back();
        Proc& proc = procs[p];
        proc.queued = false;
        const int64_t once = proc.once, n = proc.n, first = proc.first;
        if (proc.at.i >= n) continue;
        const int64_t* const ev = proc.ev;
        Port* const mine = ports.data() + proc.port_begin;
        const int64_t n_mine = proc.port_end - proc.port_begin;
        const int64_t iters = proc.iters;
        const bool every = ev == nullptr;  // an event at every iteration: each starts one cycle after the last
        const int64_t* const released = proc.released;
        // locals, not the output arrays, inside the loop: a store to `times` could alias them
        int64_t i = proc.at.i, m = proc.at.m, j = proc.at.j, stall_blocked = 0, stall_starved = 0, waiting = -1;
        for (; i < n; i++) {
            int64_t base;
            if (every) base = i > 0 ? int64_t(times[first + i - 1]) + 1 : i;
            else {
                const int64_t e = m * iters + ev[j];
                base = i > 0 ? int64_t(times[first + i - 1]) + e - (j ? m * iters + ev[j - 1] : (m - 1) * iters + ev[once - 1]) : e;
            }
            if (released && released[i] > base) base = released[i];
            int64_t t = base, need_read = INT64_MIN, need_write = INT64_MIN;
            for (int64_t q = 0; q < n_mine; q++) {
                const Port& port = mine[q];
                if (port.next != first + i) continue;
                const int64_t k = port.cursor;
                if (!port.write) {
                    const Port& w = ports[port.peer];
                    if (w.cursor <= k) { waiting = port.peer; break; }
                    const int64_t avail = int64_t(times[w.event_of(port.own)]) + w.latency + 1;
                    if (avail > need_read) need_read = avail;
                } else {
                    if (k < port.depth || port.peer < 0) continue;
                    const Port& r = ports[port.peer];
                    if (r.cursor <= k - port.depth) { waiting = port.peer; break; }
                    const int64_t slot = int64_t(times[r.event_of(port.behind)]) + 1 - port.latency;
                    if (slot > need_write) need_write = slot;
                }
            }
            if (waiting >= 0) break;
            if (need_read > t) t = need_read;
            if (need_write > t) t = need_write;
            if (t > base) (need_write >= need_read ? stall_blocked : stall_starved) += t - base;
            if (t > std::numeric_limits<T>::max()) return 2;
            times[first + i] = T(t);
            for (int64_t q = 0; q < n_mine; q++) {
                Port& port = mine[q];
                if (port.next != first + i) continue;
                if (port.write && port.cursor >= port.depth) port.behind.advance(port.beats);
                const int64_t k = ++port.cursor;
                port.own.advance(port.beats);
                port.next = k < n_inf * port.beats ? port.event_of(port.own) : -1;
                const int64_t other = port.peer_proc;
                if (other >= 0) {
                    Proc& woken = procs[other];
                    if (!woken.queued && woken.waits_on == &port - ports.data()) {
                        woken.queued = true;
                        queue.push_back((int)other);
                    }
                }
            }
            if (++j == once) { j = 0; m++; }
        }
        proc.at.i = i, proc.at.m = m, proc.at.j = j;
        proc.waits_on = waiting;
        blocked[p] += stall_blocked;
        starved[p] += stall_starved;
    }
    for (int64_t q = 0; q < n_port; q++) cursor[q] = ports[slot[q]].cursor;
    for (int p = 0; p < n_proc; p++) pc[p] = procs[p].at.i;
    for (int p = 0; p < n_proc; p++)
        if (pc[p] < procs[p].n) return 1;
    // every FIFO's peak occupancy (none asked for: `peak` null)
    for (int ch = 0; peak != nullptr && ch < n_chan; ch++) {
        const int64_t w = chan_writer_port[ch], r = chan_reader_port[ch];
        peak[ch] = w >= 0 && r >= 0 ? peak_of(ports[slot[w]], times, ports[slot[r]], times, n_inf, false) : 0;
    }
    return 0;
}

}  // namespace

// The simulation (`simulate`), its times 64-bit if `wide`, else 32-bit.
extern "C" int dfcc_simulate(
    int n_proc, int n_inf, const int64_t* ev_off, const int64_t* ev_addr,
    const int64_t* iterations, const int64_t* latency, const int64_t* port_proc, const int64_t* port_chan,
    const int64_t* port_is_write, const int64_t* port_beats, const int64_t* pos_addr,
    int n_chan, const int64_t* chan_depth, const int64_t* chan_writer_port, const int64_t* chan_reader_port,
    const int64_t* proc_port_off, const int64_t* proc_ports, const int64_t* release_off, const int64_t* release,
    int wide, void* times, int64_t* pc, int64_t* cursor, int64_t* starved, int64_t* blocked, int64_t* peak) {
    if (wide)
        return simulate(n_proc, n_inf, ev_off, ev_addr, iterations, latency, port_proc, port_chan, port_is_write,
                        port_beats, pos_addr, n_chan, chan_depth, chan_writer_port, chan_reader_port, proc_port_off,
                        proc_ports, release_off, release, static_cast<int64_t*>(times), pc, cursor, starved, blocked,
                        peak);
    return simulate(n_proc, n_inf, ev_off, ev_addr, iterations, latency, port_proc, port_chan, port_is_write,
                    port_beats, pos_addr, n_chan, chan_depth, chan_writer_port, chan_reader_port, proc_port_off,
                    proc_ports, release_off, release, static_cast<int32_t*>(times), pc, cursor, starved, blocked, peak);
}

// The peak of one FIFO with its writer's events at w_times and its reader's at r_times (two schedules of one
// pipeline: FIFO sizing's mix of them), -1 if a beat would be read before it is readable; a port as in
// dfcc_simulate (base: its process's first event in its times, once: its events per inference, pos: 0 for the
// identity, wide: 64-bit times).
extern "C" int64_t dfcc_peak(int n_inf, int64_t beats, const void* w_times, int w_wide, int64_t w_base, int64_t w_once,
                             const int64_t* w_pos, int64_t w_latency, const void* r_times, int r_wide, int64_t r_base,
                             int64_t r_once, const int64_t* r_pos) {
    Port writer, reader;
    writer.base = w_base, writer.once = w_once, writer.pos = w_pos, writer.dense = w_pos == nullptr;
    writer.beats = reader.beats = beats, writer.latency = w_latency;
    reader.base = r_base, reader.once = r_once, reader.pos = r_pos, reader.dense = r_pos == nullptr;
    const auto w64 = static_cast<const int64_t*>(w_times), r64 = static_cast<const int64_t*>(r_times);
    const auto w32 = static_cast<const int32_t*>(w_times), r32 = static_cast<const int32_t*>(r_times);
    if (w_wide)
        return r_wide ? peak_of(writer, w64, reader, r64, n_inf, true) : peak_of(writer, w64, reader, r32, n_inf, true);
    return r_wide ? peak_of(writer, w32, reader, r64, n_inf, true) : peak_of(writer, w32, reader, r32, n_inf, true);
}

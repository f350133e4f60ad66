// The event loop of analyses/simulation.py, in C++ for speed (ResNet-50 moves ~5*10^7 beats per inference).
//
// Every process has a list of event iterations (those that move a beat), given for one inference:
// inference m's event j is iteration m * iterations + events[j], and a port's beat k of inference m
// is that inference's event pos[k]. Event i starts at
//   t_i = max(t_{i-1} + (e_i - e_{i-1}),  write time of each beat it reads + 1,
//             read time of beat k - depth of each beat k it writes + 1 - latency),   t_0 >= e_0,
// and a beat is written at t_i + latency. A start later than t_{i-1} + (e_i - e_{i-1}) is a stall,
// counted as blocked when a full output set it (its write term is the larger), else as starved.
// Every term refers to an earlier cycle, so the times are computed in dependency order: each
// process runs until it needs a time not computed yet, and is woken when the process at the other
// end of that FIFO moves. When no process can move, the unfinished ones are deadlocked.
#include <climits>
#include <cstdint>
#include <vector>

namespace {

// beat k = m * beats + r of a port, kept as (m, r) so that no step divides
struct Beat {
    int64_t m = 0, r = 0;
    void advance(int64_t beats) {
        if (++r == beats) { r = 0; m++; }
    }
};

}  // namespace

extern "C" int dfcc_simulate(
    int n_proc, int n_inf, const int64_t* ev_off, const int64_t* events, const int64_t* iterations,
    const int64_t* latency, const int64_t* port_proc, const int64_t* port_chan, const int64_t* port_is_write,
    const int64_t* pos_off, const int64_t* pos,
    int n_chan, const int64_t* chan_depth, const int64_t* chan_writer_port, const int64_t* chan_reader_port,
    const int64_t* proc_port_off, const int64_t* proc_ports,
    int64_t* times, int64_t* pc, int64_t* cursor, int64_t* starved, int64_t* blocked, int64_t* peak) {
    const int64_t n_port = proc_port_off[n_proc];
    auto n_events = [&](int64_t p) { return ev_off[p + 1] - ev_off[p]; };
    auto n_beats = [&](int64_t port) { return pos_off[port + 1] - pos_off[port]; };
    // index into `times` of the event moving beat b of `port`
    auto event_of = [&](int64_t port, const Beat& b) {
        const int64_t p = port_proc[port];
        return n_inf * ev_off[p] + b.m * n_events(p) + pos[pos_off[port] + b.r];
    };
    // each port's next beat and, for a write, the beat `depth` behind it (whose read frees its slot)
    std::vector<Beat> own(n_port), behind(n_port);
    std::vector<int64_t> next(n_port);
    for (int64_t port = 0; port < n_port; port++) next[port] = n_beats(port) ? event_of(port, own[port]) : -1;
    // processes that may move: a blocked process waits until the other end of its FIFO moves
    std::vector<int> queue;
    std::vector<char> queued(n_proc, 1);
    for (int p = n_proc - 1; p >= 0; p--) queue.push_back(p);
    while (!queue.empty()) {
        const int p = queue.back();
        queue.pop_back();
        queued[p] = 0;
        const int64_t once = n_events(p), n = n_inf * once, first = n_inf * ev_off[p];
        const int64_t* ev = events + ev_off[p];
        if (pc[p] >= n) continue;
        int64_t m = pc[p] / once, j = pc[p] - m * once;
        while (pc[p] < n) {
            const int64_t i = pc[p];
            const int64_t e = m * iterations[p] + ev[j];
            int64_t base = e;
            if (i > 0) base = times[first + i - 1] + e - (j ? m * iterations[p] + ev[j - 1] : (m - 1) * iterations[p] + ev[once - 1]);
            int64_t t = base, need_read = INT64_MIN, need_write = INT64_MIN;
            bool ready = true;
            for (int64_t q = proc_port_off[p]; q < proc_port_off[p + 1]; q++) {
                const int64_t port = proc_ports[q];
                if (next[port] != first + i) continue;
                const int64_t k = cursor[port], ch = port_chan[port];
                if (!port_is_write[port]) {
                    const int64_t w = chan_writer_port[ch];
                    if (cursor[w] <= k) { ready = false; break; }
                    const int64_t avail = times[event_of(w, own[port])] + latency[port_proc[w]] + 1;
                    if (avail > need_read) need_read = avail;
                } else {
                    const int64_t d = chan_depth[ch], r = chan_reader_port[ch];
                    if (k < d || r < 0) continue;
                    if (cursor[r] <= k - d) { ready = false; break; }
                    const int64_t slot = times[event_of(r, behind[port])] + 1 - latency[p];
                    if (slot > need_write) need_write = slot;
                }
            }
            if (!ready) break;
            if (need_read > t) t = need_read;
            if (need_write > t) t = need_write;
            if (t > base) (need_write >= need_read ? blocked : starved)[p] += t - base;
            times[first + i] = t;
            for (int64_t q = proc_port_off[p]; q < proc_port_off[p + 1]; q++) {
                const int64_t port = proc_ports[q];
                if (next[port] != first + i) continue;
                const int64_t beats = n_beats(port), ch = port_chan[port];
                if (port_is_write[port] && cursor[port] >= chan_depth[ch]) behind[port].advance(beats);
                const int64_t k = ++cursor[port];
                own[port].advance(beats);
                next[port] = k < n_inf * beats ? event_of(port, own[port]) : -1;
                const int64_t other = port_is_write[port] ? chan_reader_port[ch] : chan_writer_port[ch];
                if (other >= 0 && !queued[port_proc[other]]) {
                    queued[port_proc[other]] = 1;
                    queue.push_back((int)port_proc[other]);
                }
            }
            pc[p] = i + 1;
            if (++j == once) { j = 0; m++; }
        }
    }
    for (int p = 0; p < n_proc; p++)
        if (pc[p] < n_inf * n_events(p)) return 1;
    // peak occupancy of every FIFO: beats held just after each write (written so far minus read before it)
    for (int ch = 0; ch < n_chan; ch++) {
        const int64_t w = chan_writer_port[ch], r = chan_reader_port[ch];
        peak[ch] = 0;
        if (w < 0 || r < 0) continue;
        const int64_t beats = n_beats(w), total = n_inf * beats, lat = latency[port_proc[w]];
        Beat wb, rb;
        int64_t taken = 0;
        for (int64_t k = 0; k < total; k++, wb.advance(beats)) {
            const int64_t written = times[event_of(w, wb)] + lat;
            while (taken < total && times[event_of(r, rb)] < written) { taken++; rb.advance(beats); }
            if (k + 1 - taken > peak[ch]) peak[ch] = k + 1 - taken;
        }
    }
    return 0;
}

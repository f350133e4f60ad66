// The event loop of analyses/simulation.py, in C++ for speed (ResNet-50 moves ~10^7 beats).
//
// Every process has a list of event iterations (those that move a beat). Event i starts at
//   t_i = max(t_{i-1} + (e_i - e_{i-1}),  write time of each beat it reads + 1,
//             read time of beat k - depth of each beat k it writes + 1 - latency),   t_0 >= e_0,
// and a beat is written at t_i + latency. Every term refers to an earlier cycle, so the times are
// computed in dependency order: each process runs until it needs a time not computed yet, and is
// woken when the process at the other end of that FIFO moves. When no process can move, the
// unfinished ones are deadlocked.
#include <cstdint>
#include <vector>

extern "C" int dfcc_simulate(
    int n_proc, const int64_t* ev_off, const int64_t* events, const int64_t* latency,
    int n_port, const int64_t* port_proc, const int64_t* port_chan, const int64_t* port_is_write,
    const int64_t* pos_off, const int64_t* pos,
    int n_chan, const int64_t* chan_depth, const int64_t* chan_writer_port, const int64_t* chan_reader_port,
    const int64_t* proc_port_off, const int64_t* proc_ports,
    int64_t* times, int64_t* pc, int64_t* cursor) {
    (void)n_chan;
    (void)n_port;
    // processes that may move: a blocked process waits until the other end of its FIFO moves
    std::vector<int> queue;
    std::vector<char> queued(n_proc, 1);
    for (int p = n_proc - 1; p >= 0; p--) queue.push_back(p);
    while (!queue.empty()) {
        const int p = queue.back();
        queue.pop_back();
        queued[p] = 0;
        const int64_t first = ev_off[p], n = ev_off[p + 1] - first;
        while (pc[p] < n) {
            const int64_t i = pc[p];
            int64_t t = i == 0 ? events[first] : times[first + i - 1] + (events[first + i] - events[first + i - 1]);
            bool ready = true;
            for (int64_t q = proc_port_off[p]; q < proc_port_off[p + 1] && ready; q++) {
                const int64_t port = proc_ports[q];
                const int64_t k = cursor[port];
                const int64_t base = pos_off[port], beats = pos_off[port + 1] - base;
                if (k >= beats || pos[base + k] != i) continue;
                const int64_t ch = port_chan[port];
                if (!port_is_write[port]) {
                    const int64_t w = chan_writer_port[ch];
                    const int64_t wp = port_proc[w], wpos = pos[pos_off[w] + k];
                    if (pc[wp] <= wpos) { ready = false; break; }
                    const int64_t avail = times[ev_off[wp] + wpos] + latency[wp] + 1;
                    if (avail > t) t = avail;
                } else {
                    const int64_t d = chan_depth[ch];
                    if (k < d) continue;
                    const int64_t r = chan_reader_port[ch];
                    if (r < 0) continue;
                    const int64_t rp = port_proc[r], rpos = pos[pos_off[r] + k - d];
                    if (pc[rp] <= rpos) { ready = false; break; }
                    const int64_t slot = times[ev_off[rp] + rpos] + 1 - latency[p];
                    if (slot > t) t = slot;
                }
            }
            if (!ready) break;
            times[first + i] = t;
            for (int64_t q = proc_port_off[p]; q < proc_port_off[p + 1]; q++) {
                const int64_t port = proc_ports[q];
                const int64_t k = cursor[port];
                if (k < pos_off[port + 1] - pos_off[port] && pos[pos_off[port] + k] == i) {
                    cursor[port] = k + 1;
                    const int64_t ch = port_chan[port];
                    const int64_t other = port_is_write[port] ? chan_reader_port[ch] : chan_writer_port[ch];
                    if (other >= 0 && !queued[port_proc[other]]) {
                        queued[port_proc[other]] = 1;
                        queue.push_back((int)port_proc[other]);
                    }
                }
            }
            pc[p] = i + 1;
        }
    }
    for (int p = 0; p < n_proc; p++)
        if (pc[p] < ev_off[p + 1] - ev_off[p]) return 1;
    return 0;
}

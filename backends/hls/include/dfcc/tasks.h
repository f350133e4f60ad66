// dfcc/tasks.h -- stages as threads, for the bounded-FIFO C simulation only (DFCC_BOUNDED_FIFOS).
//
// In hardware every process of a DATAFLOW region runs at once; in plain C simulation they run one
// after the other over unbounded streams. With bounded FIFOs (bounded/hls_stream.h) they must run
// concurrently, so DFCC_TASK(call) starts the call on a thread of the enclosing DFCC_TASKS group,
// which joins them all when it goes out of scope. Without DFCC_BOUNDED_FIFOS both are plain code.
#ifndef DFCC_TASKS_H
#define DFCC_TASKS_H

#ifdef DFCC_BOUNDED_FIFOS
#include <functional>
#include <thread>
#include <vector>

namespace dfcc {

inline bool& in_task() {
    thread_local bool flag = false;
    return flag;
}

inline void count_running(int delta) {
    std::lock_guard<std::mutex> g(dfcc_bounded::board::get().lock);
    dfcc_bounded::board::get().running += delta;
}

class task_group {
   public:
    void spawn(std::function<void()> body) {
        count_running(1);
        threads_.emplace_back([body] {
            in_task() = true;
            body();
            count_running(-1);
        });
    }
    // a stage joining its own sub-stages is not running (the watchdog counts only stream waits)
    ~task_group() {
        if (in_task()) count_running(-1);
        for (auto& t : threads_) t.join();
        if (in_task()) count_running(1);
    }

   private:
    std::vector<std::thread> threads_;
};

}  // namespace dfcc

#define DFCC_TASKS dfcc::task_group dfcc_tasks_
#define DFCC_TASK(...) dfcc_tasks_.spawn([&] { __VA_ARGS__; })
#else
#define DFCC_TASKS
#define DFCC_TASK(...) __VA_ARGS__
#endif

#endif

// hls_stream.h for dfcc's bounded-FIFO C simulation (dfcc -t csim --bounded-fifos).
//
// Replaces the vendor header (it comes first on the include path): every stream is a FIFO of a
// fixed depth with blocking reads and writes, shared by threads, as the hardware's FIFOs are.
// Depth: the STREAM pragma's, given to the constructor by the generated top.cpp; 2 (Vitis HLS's
// default) for streams declared inside kernels; unbounded for a stream named but given no depth
// (the testbench's AXI ports). Stages run as threads (dfcc/tasks.h). A watchdog sees a deadlock
// when every stage thread waits on a stream and no beat moves for DEADLOCK_MS; it prints each
// waiting stream (name, full/empty, depth) on lines starting with DEADLOCK and exits with code 3.
#ifndef DFCC_BOUNDED_HLS_STREAM_H
#define DFCC_BOUNDED_HLS_STREAM_H

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace dfcc_bounded {

const int DEADLOCK_MS = 500;

// What every thread is doing, for the watchdog: threads running stages, threads waiting on a
// stream (and why), beats moved so far.
struct board {
    std::mutex lock;
    int running = 0;
    std::map<const void*, std::string> waiting;  // stream -> "name full (depth N)" / "name empty"
    unsigned long long moves = 0;
    static board& get() {
        static board b;
        return b;
    }
};

inline void report_deadlock() {
    board& b = board::get();
    for (const auto& w : b.waiting) std::printf("DEADLOCK %s\n", w.second.c_str());
    std::fflush(stdout);
    std::_Exit(3);
}

}  // namespace dfcc_bounded

namespace hls {

template <typename T>
class stream {
   public:
    stream() : name_("(kernel-internal)"), depth_(2) {}
    explicit stream(const char* name) : name_(name), depth_(0) {}
    stream(const char* name, int depth) : name_(name), depth_(depth) {}
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;

    T read() {
        std::unique_lock<std::mutex> guard(lock_);
        wait(guard, [this] { return !data_.empty(); }, name_ + " empty (its reader waits)");
        T value = data_.front();
        data_.pop_front();
        moved();
        return value;
    }
    void read(T& value) { value = read(); }
    void write(const T& value) {
        std::unique_lock<std::mutex> guard(lock_);
        wait(guard, [this] { return depth_ == 0 || (int)data_.size() < depth_; },
             name_ + " full, depth " + std::to_string(depth_) + " (its writer waits)");
        data_.push_back(value);
        moved();
    }
    bool empty() {
        std::lock_guard<std::mutex> guard(lock_);
        return data_.empty();
    }
    bool full() {
        std::lock_guard<std::mutex> guard(lock_);
        return depth_ != 0 && (int)data_.size() >= depth_;
    }
    size_t size() {
        std::lock_guard<std::mutex> guard(lock_);
        return data_.size();
    }

   private:
    template <typename Ready>
    void wait(std::unique_lock<std::mutex>& guard, Ready ready, const std::string& why) {
        if (ready()) return;
        dfcc_bounded::board& b = dfcc_bounded::board::get();
        {
            std::lock_guard<std::mutex> g(b.lock);
            b.waiting[this] = why;
        }
        unsigned long long seen = ~0ull;
        auto still = std::chrono::steady_clock::now();
        while (!changed_.wait_for(guard, std::chrono::milliseconds(20), ready)) {
            std::lock_guard<std::mutex> g(b.lock);
            if (b.moves != seen || (int)b.waiting.size() < b.running) {
                seen = b.moves;
                still = std::chrono::steady_clock::now();
            } else if (std::chrono::steady_clock::now() - still > std::chrono::milliseconds(dfcc_bounded::DEADLOCK_MS)) {
                dfcc_bounded::report_deadlock();
            }
        }
        std::lock_guard<std::mutex> g(b.lock);
        b.waiting.erase(this);
    }
    void moved() {
        changed_.notify_all();
        dfcc_bounded::board& b = dfcc_bounded::board::get();
        std::lock_guard<std::mutex> g(b.lock);
        b.moves++;
    }

    std::string name_;
    int depth_;  // 0: unbounded
    std::deque<T> data_;
    std::mutex lock_;
    std::condition_variable changed_;
};

}  // namespace hls

#endif

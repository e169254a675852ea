#include "core/streaming/streamed_run.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/util/fd.h"

namespace pyrunner::streaming {
namespace {

using json = nlohmann::ordered_json;

std::string detail_of(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("detail") && j["detail"].is_string()) return j["detail"];
  return body;
}

// The events of one run, from the run's thread (RunObserver) to the request's (write_to).
class EventStream : public RunObserver {
 public:
  explicit EventStream(Format format)
      : format_(format), cancel_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

  int cancel_fd() const { return cancel_.get(); }
  /// Ends the run (the pump polls cancel_fd): its client is gone.
  void cancel() {
    const uint64_t one = 1;
    (void)!::write(cancel_.get(), &one, sizeof one);
  }

  void on_start() override {
    std::lock_guard<std::mutex> lock(mutex_);
    started_ = true;
    changed_.notify_all();
  }
  void on_stdout(std::string_view bytes) override { text("stdout", stdout_.push(bytes)); }
  void on_stderr(std::string_view bytes) override { text("stderr", stderr_.push(bytes)); }
  void on_display(const json& item) override {
    add(item["type"].get_ref<const std::string&>(),
        item.dump(-1, ' ', false, json::error_handler_t::replace));
  }

  /// The run is over and `answer` is what the route answered: the output held back, then the
  /// last event.
  void finish(HttpResponse answer) {
    text("stdout", stdout_.flush());
    text("stderr", stderr_.flush());
    const bool result = answer.status == 200;
    add(result ? "result" : "error",
        result ? result_event(answer.body) : error_event(answer.status, detail_of(answer.body)));
    std::lock_guard<std::mutex> lock(mutex_);
    if (started_) spdlog::info("streamed run ended: status={}", answer.run_status);
    answer_ = std::move(answer);
    finished_ = true;
    changed_.notify_all();
  }

  /// Whether the run started; false once it ended without (a refusal: answer() says it).
  bool wait_started() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return started_ || finished_; });
    return started_;
  }
  HttpResponse take_answer() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(answer_);
  }

  /// Writes the events as they come, until the last one; when the client does not take one,
  /// stops and cancels the run.
  void write_to(const ChunkWriter& write, std::chrono::milliseconds keep_alive) {
    for (;;) {
      std::string batch;
      bool last;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait_for(lock, keep_alive, [this] { return !pending_.empty() || finished_; });
        batch.swap(pending_);
        last = finished_;
      }
      if (batch.empty() && !last) {
        if (format_ != Format::kSse) continue;
        batch = kSseKeepAlive;
      }
      if (!batch.empty() && !write(batch)) {
        cancel();
        return;
      }
      if (last) return;
    }
  }

 private:
  void text(const char* type, const std::string& text) {
    if (!text.empty()) add(type, text_event(type, text));
  }
  void add(std::string_view type, const std::string& json_text) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!started_) return;  // a refusal is answered plainly
    pending_ += frame(format_, type, json_text);
    changed_.notify_all();
  }

  const Format format_;
  const UniqueFd cancel_;
  TextSplitter stdout_, stderr_;  // the run's thread's
  std::mutex mutex_;
  std::condition_variable changed_;
  bool started_ = false, finished_ = false;
  std::string pending_;  // framed events not yet written
  HttpResponse answer_;
};

// The run's thread, joined by whoever lets go of it last: the request's thread, when the
// stream is done with (or never written: the run is then cancelled).
struct RunThread {
  std::shared_ptr<EventStream> events;
  std::thread thread;
  Metrics* streaming = nullptr;  // counts the stream as active while set

  ~RunThread() {
    if (thread.joinable()) {
      events->cancel();  // a no-op once the run is over
      thread.join();
    }
    if (streaming != nullptr) streaming->stream_ended();
  }
};

}  // namespace

void respond(const StreamOptions& options, RunWatch watch, Metrics& metrics, Work work,
             HttpResponse& res) {
  auto events = std::make_shared<EventStream>(options.format);
  watch.observer = events.get();
  watch.cancel_fd = events->cancel_fd();
  auto run = std::make_shared<RunThread>();
  run->events = events;
  run->thread = std::thread([events, watch, work = std::move(work)] {
    HttpResponse answer;
    try {
      work(watch, answer);
    } catch (const std::exception& e) {
      spdlog::error("internal error: {}", e.what());
      answer.error(500, "internal error");
    }
    events->finish(std::move(answer));
  });
  if (!events->wait_started()) {
    run->thread.join();
    res = events->take_answer();
    return;
  }
  metrics.stream_started();
  run->streaming = &metrics;
  res.status = 200;
  res.content_type = content_type(options.format);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // nginx: pass each event on as it comes
  res.stream = [run, keep_alive = options.keep_alive](const ChunkWriter& write) {
    run->events->write_to(write, keep_alive);
  };
}

}  // namespace pyrunner::streaming

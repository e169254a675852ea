#include "core/http/reception.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "core/http/route.h"

namespace pyrunner {
namespace {

using Clock = std::chrono::steady_clock;
using State = RequestFrame::State;

// epoll tags besides connection fds.
constexpr uint64_t kListenerTag = ~uint64_t{0};
constexpr uint64_t kWakeTag = ~uint64_t{0} - 1;
// What one recv() takes; one wake-up reads at most a few of them from one client, so that a fast
// sender does not delay the others.
constexpr size_t kReadChunk = 64 << 10;
constexpr int kReadsPerWake = 4;
constexpr int kAcceptsPerWake = 64;
// Out of file descriptors: stop accepting for a moment (the clients wait in the listen backlog)
// instead of spinning on EMFILE.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// A worker beyond min_threads that has had nothing to do this long ends.
constexpr auto kWorkerIdle = std::chrono::seconds(30);

std::string numeric_host(const sockaddr_storage& addr, socklen_t len, int* port) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, serv,
                  sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "";
  *port = std::atoi(serv);
  return host;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

}  // namespace

struct Reception::Conn {
  // kQueued: handed to the workers (waiting for one, or being answered) until it is returned.
  enum class Phase { kIdle, kReceiving, kDiscarding, kQueued };
  explicit Conn(FramingLimits limits) : framer(limits) {}

  Connection c;
  RequestFramer framer;
  Phase phase = Phase::kIdle;
  Clock::time_point deadline;
  uint64_t serial = 0;
  uint64_t discard_left = 0;  // kDiscarding: body bytes still to drop
  bool continue_sent = false;
  size_t counted = 0;  // of c.bytes, in pending_bytes_
};

Reception::Reception(UniqueFd listener, ReceptionLimits limits, Serve serve, Refused refused)
    : listener_(std::move(listener)),
      limits_(limits),
      serve_(std::move(serve)),
      refused_(std::move(refused)) {}

Reception::~Reception() { stop(); }

Status Reception::start() {
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) return Status::Sys("epoll_create1", errno);
  wake_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_.valid()) return Status::Sys("eventfd(reception)", errno);
  int flags = fcntl(listener_.get(), F_GETFL);
  if (flags < 0 || fcntl(listener_.get(), F_SETFL, flags | O_NONBLOCK) != 0)
    return Status::Sys("fcntl(listener, O_NONBLOCK)", errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerTag;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &ev) != 0)
    return Status::Sys("epoll_ctl(ADD, listener)", errno);
  ev.data.u64 = kWakeTag;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev) != 0)
    return Status::Sys("epoll_ctl(ADD, eventfd)", errno);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int i = 0; i < limits_.min_threads; ++i) spawn_locked();
  }
  loop_thread_ = std::thread([this] { loop(); });
  return Status::Ok();
}

void Reception::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (!loop_thread_.joinable()) return;  // never started
  wake();
  loop_thread_.join();  // returns once every connection is closed
  work_ready_.notify_all();
  std::map<int, std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& [id, t] : workers) t.join();
}

Reception::Stats Reception::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats s;
  s.connections = open_;
  s.receiving = receiving_;
  s.queued = static_cast<int>(urgent_.size() + normal_.size());
  s.serving = serving_;
  s.threads = threads_;
  return s;
}

void Reception::wake() {
  uint64_t one = 1;
  (void)!write(wake_fd_.get(), &one, sizeof one);
}

void Reception::loop() {
  epoll_event events[256];
  bool draining = false;
  for (;;) {
    int timeout_ms = 1000;
    const auto now = Clock::now();
    if (!timers_.empty()) {
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(timers_.front().at - now).count();
      timeout_ms = static_cast<int>(std::clamp<long>(ms, 0, timeout_ms));
    }
    if (!accepting_ && !draining) {
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(accept_resume_ - now).count();
      timeout_ms = static_cast<int>(std::clamp<long>(ms, 0, timeout_ms));
    }
    const int n = epoll_wait(epoll_.get(), events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenerTag) {
        accept_all();
      } else if (tag == kWakeTag) {
        uint64_t count;
        (void)!read(wake_fd_.get(), &count, sizeof count);
        std::vector<std::pair<Conn*, bool>> back;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          back.swap(returned_);
          if (stopping_) draining = true;
        }
        for (auto& [conn, keep] : back) resume(conn, keep);
      } else if (tag < conns_.size() && conns_[tag]) {
        // Not one a worker holds (an event from before it was handed over, in this batch).
        Conn& conn = *conns_[tag];
        if (conn.phase != Conn::Phase::kQueued) receive(conn);
      }
    }
    join_retired();
    if (!accepting_ && !draining && Clock::now() >= accept_resume_) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListenerTag;
      if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &ev) == 0) accepting_ = true;
    }
    expire();
    if (draining) {
      // Shutting down: no new connections; those between requests are closed; the others end
      // after their answer (resume closes them), and then so does the loop.
      if (listener_.valid()) {
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr);
        listener_.reset();
      }
      bool busy = false;
      for (auto& conn : conns_) {
        if (!conn) continue;
        if (conn->phase == Conn::Phase::kQueued) {
          busy = true;
        } else {
          close_conn(*conn);
        }
      }
      if (!busy) return;
    }
  }
}

void Reception::accept_all() {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    int fd = accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr);
        accepting_ = false;
        accept_resume_ = Clock::now() + kAcceptPause;
      }
      return;  // EAGAIN: all taken; anything else (ECONNABORTED): the next wake-up tries again
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // no Nagle delay on answers
    auto conn = std::make_unique<Conn>(limits_.framing);
    conn->c.fd = fd;
    conn->serial = ++next_serial_;
    conn->c.remote_ip = numeric_host(peer, peer_len, &conn->c.remote_port);
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0)
      conn->c.local_ip = numeric_host(local, local_len, &conn->c.local_port);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = static_cast<uint64_t>(fd);
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    if (conns_.size() <= static_cast<size_t>(fd)) conns_.resize(static_cast<size_t>(fd) + 1);
    Conn& c = *conn;
    conns_[static_cast<size_t>(fd)] = std::move(conn);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++open_;
    }
    set_deadline(c, Clock::now() + limits_.idle_timeout);
  }
}

void Reception::account(Conn& conn) {
  pending_bytes_ = pending_bytes_ - conn.counted + conn.c.bytes.size();
  conn.counted = conn.c.bytes.size();
}

void Reception::set_deadline(Conn& conn, Clock::time_point at) {
  conn.deadline = at;
  timers_.push_back({at, conn.c.fd, conn.serial});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<>());
}

void Reception::expire() {
  const auto now = Clock::now();
  while (!timers_.empty() && timers_.front().at <= now) {
    const Timer t = timers_.front();
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<>());
    timers_.pop_back();
    if (t.fd < 0 || static_cast<size_t>(t.fd) >= conns_.size()) continue;
    Conn* conn = conns_[static_cast<size_t>(t.fd)].get();
    if (conn == nullptr || conn->serial != t.serial || conn->deadline != t.at) continue;  // stale
    if (conn->phase == Conn::Phase::kIdle) {
      close_conn(*conn);
    } else if (conn->phase == Conn::Phase::kReceiving || conn->phase == Conn::Phase::kDiscarding) {
      refuse(*conn, 408,
             "request: not received within server.read_timeout (" +
                 std::to_string(limits_.read_timeout.count() / 1000) + " s)");
    }
  }
}

void Reception::receive(Conn& conn) {
  static thread_local char scratch[kReadChunk];
  for (int i = 0; i < kReadsPerWake; ++i) {
    const size_t want = conn.phase == Conn::Phase::kDiscarding
                            ? static_cast<size_t>(std::min<uint64_t>(conn.discard_left, kReadChunk))
                            : kReadChunk;
    const ssize_t n = recv(conn.c.fd, scratch, want, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      // The client closed (or reset) before its request was whole: nothing to answer.
      return close_conn(conn);
    }
    if (conn.phase == Conn::Phase::kDiscarding) {
      conn.discard_left -= static_cast<uint64_t>(n);
      if (conn.discard_left == 0) return dispatch(conn, true);
      continue;
    }
    if (conn.phase == Conn::Phase::kIdle) {
      conn.phase = Conn::Phase::kReceiving;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++receiving_;
      }
      set_deadline(conn, Clock::now() + limits_.read_timeout);
    }
    if (pending_bytes_ + static_cast<size_t>(n) > limits_.max_pending_bytes)
      return refuse(conn, 503, "server busy: too many request bytes held in memory", 1);
    conn.c.bytes.append(scratch, static_cast<size_t>(n));
    account(conn);
    if (!advance(conn)) return;
  }
}

// Acts on what the bytes of the request in progress amount to. False once the connection is
// no longer receiving (handed to a worker, or refused and gone: `conn` must not be touched).
bool Reception::advance(Conn& conn) {
  auto& bytes = conn.c.bytes;
  if (!conn.framer.frame().head_done()) {
    // Clients may send an empty line between requests (RFC 9112, 2.2).
    size_t skip = 0;
    while (bytes.compare(skip, 2, "\r\n") == 0) skip += 2;
    if (skip > 0) {
      bytes.erase(0, skip);
      account(conn);
    }
    if (bytes.empty()) return true;
  }
  const bool had_head = conn.framer.frame().head_done();
  const RequestFrame& frame = conn.framer.examine(bytes);
  switch (frame.state) {
    case State::kComplete:
      dispatch(conn, false);
      return false;
    case State::kBad:
      refuse(conn, 400, "request: " + frame.detail);
      return false;
    case State::kHeadTooLarge:
      refuse(conn, 431,
             "request: headers larger than " + std::to_string(limits_.framing.max_head_bytes) +
                 " bytes");
      return false;
    case State::kBodyTooLarge:
      if (frame.chunked) {
        refuse(conn, 413, "body: larger than the maximum request size");
        return false;
      }
      // httplib answers the 413 (for the route's metrics and log). Without the body: if the
      // client waits for a 100 Continue it never sends the body; else it is read and dropped.
      if (frame.expect_continue) {
        bytes.replace(frame.expect_at, 6, "X-Xpct");  // httplib must not send a 100 either
        conn.c.last = true;
        dispatch(conn, true);
        return false;
      }
      conn.discard_left = frame.content_length - (bytes.size() - frame.head_size);
      bytes.resize(frame.head_size);
      account(conn);
      if (conn.discard_left == 0) {
        dispatch(conn, true);
        return false;
      }
      conn.phase = Conn::Phase::kDiscarding;
      return true;
    case State::kIncomplete:
      break;
  }
  if (!frame.head_done() || had_head) return true;
  // The head just arrived; the body has not. Reserve its bytes, and ask for it if the client
  // waits to be asked.
  if (pending_bytes_ + frame.content_length > limits_.max_pending_bytes) {
    refuse(conn, 503, "server busy: too many request bytes held in memory", 1);
    return false;
  }
  conn.c.bytes.reserve(frame.head_size + frame.content_length);
  if (frame.expect_continue && !conn.continue_sent) {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    (void)!send(conn.c.fd, kContinue, sizeof kContinue - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    bytes.replace(frame.expect_at, 6, "X-Xpct");  // answered: httplib must not send another
    conn.continue_sent = true;
  }
  return true;
}

void Reception::dispatch(Conn& conn, bool head_only) {
  const RequestFrame& frame = conn.framer.frame();
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, conn.c.fd, nullptr);
  const bool was_receiving =
      conn.phase == Conn::Phase::kReceiving || conn.phase == Conn::Phase::kDiscarding;
  conn.phase = Conn::Phase::kQueued;
  conn.c.request_size = head_only ? frame.head_size : frame.size;
  conn.c.body_discarded = head_only;
  conn.c.received_at = Clock::now();
  if (conn.c.served + 1 >= limits_.max_requests_per_connection) conn.c.last = true;
  std::lock_guard<std::mutex> lock(mutex_);
  if (was_receiving) --receiving_;
  const bool post = frame.method == "POST";
  (post ? normal_ : urgent_).push_back(&conn);
  if (post && posts_serving_ >= post_threads()) return;  // a worker takes it when one is done
  if (idle_ > 0) {
    work_ready_.notify_one();
  } else if (threads_ < limits_.max_threads) {
    spawn_locked();
  }
}

int Reception::post_threads() const {
  return limits_.max_threads - std::clamp(limits_.max_threads / 8, 1, 8);
}

bool Reception::has_work_locked() const {
  return !urgent_.empty() || (!normal_.empty() && posts_serving_ < post_threads());
}

void Reception::resume(Conn* conn, bool keep) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --serving_;
    if (stopping_) keep = false;
  }
  if (!keep) return close_conn(*conn);
  if (conn->c.bytes.empty()) std::string().swap(conn->c.bytes);  // an idle connection holds none
  account(*conn);
  conn->phase = Conn::Phase::kIdle;
  conn->framer.reset();
  conn->continue_sent = false;
  conn->c.body_discarded = false;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = static_cast<uint64_t>(conn->c.fd);
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, conn->c.fd, &ev) != 0) return close_conn(*conn);
  set_deadline(*conn, Clock::now() + limits_.idle_timeout);
  if (!conn->c.bytes.empty()) {
    // A pipelined request: it started arriving with the last one.
    conn->phase = Conn::Phase::kReceiving;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++receiving_;
    }
    set_deadline(*conn, Clock::now() + limits_.read_timeout);
    advance(*conn);
  }
}

void Reception::refuse(Conn& conn, int status, const std::string& detail, int retry_after) {
  const std::string body = error_body(detail);
  std::string answer =
      "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n";
  if (retry_after > 0) answer += "Retry-After: " + std::to_string(retry_after) + "\r\n";
  answer += "\r\n" + body;
  if (refused_) {  // counted before the client can see the answer
    const RequestFrame& frame = conn.framer.frame();
    refused_({status, frame.method, frame.target, detail});
  }
  // Best effort: the answer is small and the socket's buffer empty; a client that does not
  // read it loses nothing it could use.
  (void)!send(conn.c.fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  shutdown(conn.c.fd, SHUT_WR);
  close_conn(conn);
}

void Reception::close_conn(Conn& conn) {
  const int fd = conn.c.fd;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --open_;
    if (conn.phase == Conn::Phase::kReceiving || conn.phase == Conn::Phase::kDiscarding)
      --receiving_;
  }
  pending_bytes_ -= conn.counted;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);  // ENOENT when handed back closed: fine
  ::close(fd);
  conns_[static_cast<size_t>(fd)].reset();  // `conn` is gone from here on
}

void Reception::spawn_locked() {
  const int id = next_worker_++;
  ++threads_;
  workers_.emplace(id, std::thread([this, id] { work(id); }));
}

void Reception::join_retired() {
  std::vector<std::thread> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int id : retired_) {
      auto it = workers_.find(id);
      if (it == workers_.end()) continue;
      done.push_back(std::move(it->second));
      workers_.erase(it);
    }
    retired_.clear();
  }
  for (auto& t : done) t.join();
}

void Reception::work(int id) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    while (!has_work_locked()) {
      if (stopping_ && urgent_.empty() && normal_.empty()) {
        --threads_;
        return;
      }
      ++idle_;
      const bool woken = work_ready_.wait_for(lock, kWorkerIdle, [this] {
        return has_work_locked() || (stopping_ && urgent_.empty() && normal_.empty());
      });
      --idle_;
      if (!woken && threads_ > limits_.min_threads) {
        --threads_;
        retired_.push_back(id);  // joined by the loop (join_retired) or by stop()
        return;
      }
    }
    const bool post = urgent_.empty();
    auto& lane = post ? normal_ : urgent_;
    Conn* conn = lane.front();  // its phase stays kQueued: the loop leaves it alone until returned
    lane.pop_front();
    ++serving_;
    if (post) ++posts_serving_;
    lock.unlock();

    bool keep = serve_(conn->c) && !conn->c.last;
    auto& c = conn->c;
    c.bytes.erase(0, std::min(c.request_size, c.bytes.size()));
    ++c.served;
    c.last = false;

    lock.lock();
    if (post) --posts_serving_;  // this worker, looping, takes the next POST if there is one
    returned_.emplace_back(conn, keep);
    wake();
  }
}

}  // namespace pyrunner

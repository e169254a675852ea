#pragma once
/// The server's front door: accepts connections and receives requests without a thread each.
///
/// cpp-httplib gives every connection a thread for its whole life, and its read timeout bounds
/// each read(), not the request: 200 sockets that send one header line and then nothing (or a
/// byte a second) held 200 threads, and a normal request waited behind them. Here a single
/// epoll loop holds every connection that is not being answered (new ones, ones whose request
/// is still arriving, idle keep-alive ones); a connection gets a worker thread only once its
/// whole request is in memory, and is handed back with the answer. A request must arrive whole
/// within `read_timeout` of its first byte, whatever its pace (408 otherwise); a connection
/// that sends nothing is closed after `idle_timeout`; the bytes held for requests are bounded
/// (`max_pending_bytes`, then 503). A slow or idle client costs a file descriptor and its
/// buffer, never a thread.
///
/// Workers are started as requests need them, up to `max_threads`, and end after a while
/// idle: a burst gets threads while it lasts (a request waiting for a run slot holds one; see
/// Admission), a quiet server keeps a few. When every worker is busy, requests wait here in
/// arrival order, threadless. Only POSTs run code (and may wait for a run slot, holding their
/// worker): they get all workers but a few (an eighth, 1 to 8), which are kept for the other
/// requests (health probes, metrics, reads of sessions), and those go first to the next free
/// worker; so a Kubernetes probe is answered while a burst of runs fills every run slot.
///
/// Knows HTTP/1.1 framing only (framing.h); parsing, routing and answering are the Serve
/// callback's (cpp-httplib, in server.cc).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/http/framing.h"
#include "core/util/fd.h"
#include "core/util/status.h"

namespace pyrunner {

/// A client connection, as a worker sees it while it answers one request.
struct Connection {
  int fd = -1;
  std::string remote_ip, local_ip;
  int remote_port = 0, local_port = 0;
  /// The request (its first `request_size` bytes), then whatever the client sent after it (a
  /// pipelined request), which stays for the next turn.
  std::string bytes;
  size_t request_size = 0;
  /// The request's body was larger than allowed and was discarded: `bytes` hold its head
  /// only, and the answer is 413.
  bool body_discarded = false;
  std::chrono::steady_clock::time_point received_at;  // when the request was whole
  int served = 0;     // requests answered on this connection before this one
  bool last = false;  // the connection closes after this answer
};

struct ReceptionLimits {
  FramingLimits framing;
  std::chrono::milliseconds read_timeout{30000};  // a request's first byte to its last
  std::chrono::milliseconds idle_timeout{5000};   // a connection without a request in progress
  size_t max_pending_bytes = 256 << 20;           // requests held: received, queued, served
  int max_threads = 256;
  int min_threads = 4;                     // kept however idle
  int max_requests_per_connection = 1000;  // then Connection: close (clients reconnect)
};

/// A request the reception answered itself (400, 408, 413, 431, 503), for the logs and metrics.
struct Refusal {
  int status = 0;
  std::string method, target;  // empty when the head never arrived
  std::string detail;
};

class Reception {
 public:
  /// Answers the request at the front of `conn.bytes`, on a worker thread. Returns whether the
  /// connection may carry another request.
  using Serve = std::function<bool(Connection& conn)>;
  using Refused = std::function<void(const Refusal& refusal)>;

  /// `listener`: a bound, listening socket.
  Reception(UniqueFd listener, ReceptionLimits limits, Serve serve, Refused refused);
  ~Reception();
  Reception(const Reception&) = delete;
  Reception& operator=(const Reception&) = delete;

  Status start();
  /// Stops accepting and closes the connections that wait for a request; the requests already
  /// received are answered first. Returns when every thread has ended.
  void stop();

  struct Stats {
    int connections = 0;  // open
    int receiving = 0;    // a request partly received
    int queued = 0;       // a whole request waiting for a worker
    int serving = 0;      // being answered
    int threads = 0;      // workers
  };
  Stats stats() const;

 private:
  struct Conn;
  enum class Lane { kUrgent, kNormal };

  void loop();
  void accept_all();
  void receive(Conn& conn);
  bool advance(Conn& conn);
  void dispatch(Conn& conn, bool head_only);
  void resume(Conn* conn, bool keep);
  void refuse(Conn& conn, int status, const std::string& detail, int retry_after = 0);
  void close_conn(Conn& conn);
  void set_deadline(Conn& conn, std::chrono::steady_clock::time_point at);
  void expire();
  void account(Conn& conn);
  void wake();

  void work(int id);
  int post_threads() const;  // workers POSTs may hold at once
  bool has_work_locked() const;
  void spawn_locked();
  void join_retired();

  UniqueFd listener_, epoll_, wake_fd_;
  const ReceptionLimits limits_;
  const Serve serve_;
  const Refused refused_;
  std::thread loop_thread_;

  // The loop thread's own: the connections not handed to a worker, their deadlines, the bytes.
  std::vector<std::unique_ptr<Conn>> conns_;  // by fd
  struct Timer {
    std::chrono::steady_clock::time_point at;
    int fd;
    uint64_t serial;
    bool operator>(const Timer& o) const { return at > o.at; }
  };
  std::vector<Timer> timers_;  // a min-heap; stale entries are skipped
  uint64_t next_serial_ = 0;
  size_t pending_bytes_ = 0;
  bool accepting_ = true;
  std::chrono::steady_clock::time_point accept_resume_;

  // Shared with the workers.
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<Conn*> urgent_, normal_;
  std::vector<std::pair<Conn*, bool>> returned_;  // answered: (connection, keep it)
  std::map<int, std::thread> workers_;
  std::vector<int> retired_;
  int next_worker_ = 0;
  int threads_ = 0, idle_ = 0, serving_ = 0, posts_serving_ = 0;
  int open_ = 0, receiving_ = 0;
  bool stopping_ = false;
};

}  // namespace pyrunner

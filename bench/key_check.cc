// What the API key check costs a request (make bench; the target is < 20 us): the gate in
// front of every protected route (core/access/gate.cc) on a request with the headers a client
// sends, with 1, 100 and 1000 keys configured (every known digest is compared, in constant
// time), and its parts: SHA-256 of the presented key and the token bucket. Prints one line per
// case: the median over batches of the time per check, in microseconds.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/access/gate.h"
#include "core/access/keys.h"
#include "core/http/metrics.h"

namespace {

using Clock = std::chrono::steady_clock;

// The median of `batches` timings of `per_batch` calls of `f`, in microseconds per call.
template <typename F>
double median_us(F&& f, int batches = 31, int per_batch = 2000) {
  std::vector<double> us;
  for (int b = 0; b < batches; ++b) {
    const auto t0 = Clock::now();
    for (int i = 0; i < per_batch; ++i) f();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / per_batch);
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

}  // namespace

int main() {
  using namespace pyrunner;
  Config config;
  config.server.key_limits.requests_per_minute = 0;  // the bucket is measured on its own below
  std::printf("key check (median of 31 batches of 2000, us per request; target < 20)\n");
  for (int n : {1, 100, 1000}) {
    std::vector<KeyDigest> digests;
    for (int i = 0; i < n; ++i) digests.push_back(sha256("key-number-" + std::to_string(i)));
    KeyRing ring(config, digests);
    Metrics metrics;
    std::vector<std::string> ids;
    for (const auto& k : ring.keys()) ids.push_back(k->id());
    metrics.add_keys(ids);
    HttpRequest req;
    req.method = "POST";
    req.path = "/run";
    req.headers = {{"authorization", "Bearer key-number-0"},
                   {"content-type", "application/json"},
                   {"host", "127.0.0.1:8000"},
                   {"user-agent", "python-requests/2.28.1"}};
    int admitted = 0;
    const double valid = median_us([&] {
      HttpRequest r = req;
      HttpResponse res;
      admitted += admit_caller(ring, r, res, metrics);
    });
    HttpRequest wrong = req;
    wrong.headers["authorization"] = "Bearer not-a-key-at-all";
    const double invalid = median_us([&] {
      HttpRequest r = wrong;
      HttpResponse res;
      admitted += admit_caller(ring, r, res, metrics);
    });
    std::printf("  gate, %4d keys: valid key %.2f us, wrong key (401) %.2f us\n", n, valid,
                invalid);
    if (admitted == 0) return 1;  // keeps the calls from being optimised away
  }
  // The parts, and the request copy every measurement above includes.
  HttpRequest copy_only;
  copy_only.headers = {{"authorization", "Bearer key-number-0"},
                       {"content-type", "application/json"},
                       {"host", "127.0.0.1:8000"},
                       {"user-agent", "python-requests/2.28.1"}};
  size_t sink = 0;
  std::printf("  of which: copying the request %.2f us, SHA-256 of a 43-byte key %.2f us\n",
              median_us([&] { sink += HttpRequest(copy_only).headers.size(); }),
              median_us([&] { sink += sha256("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")[0]; }));
  KeyLimits limits;
  limits.requests_per_minute = 1000000;
  ApiKey key(sha256("k"), limits);
  std::printf("  token bucket take_request %.2f us\n",
              median_us([&] { sink += key.take_request(); }));
  return sink == 0xdeadbeef ? 1 : 0;
}

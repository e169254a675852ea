#pragma once
/// A run answered as a stream of events (events.h) instead of one JSON answer.
///
/// The route hands over its own answering as `work`: the same code that answers without
/// streaming, given a watch that adds an observer (the run's output, as it happens) and a
/// cancel fd (readable once the client stopped taking the stream: the run is killed). `work`
/// runs on a thread of its own while the request's thread writes the events: a slow client
/// never stalls the run, whose timeout stays exact, and a client that stops reading kills it.
///
/// A run that never started (refused with 404, 409, 429, 503, ...) is answered with `work`'s
/// plain answer: refusals are ordinary JSON answers with their status, never a stream. Once
/// the run has started the answer is 200 and a stream; its last event is the plain answer's
/// body as the result event, or an error event when that answer was not a 200.

#include <chrono>
#include <functional>

#include "core/executor/executor.h"
#include "core/http/metrics.h"
#include "core/http/route.h"
#include "core/streaming/events.h"

namespace pyrunner::streaming {

/// Answers as the route does without streaming, for the run watched by `watch`.
using Work = std::function<void(const RunWatch& watch, HttpResponse& answer)>;

struct StreamOptions {
  Format format = Format::kNdjson;
  /// SSE: a keep-alive comment after this long without an event.
  std::chrono::milliseconds keep_alive = std::chrono::seconds(15);
};

/// Fills `res`: the plain answer of a run that never started, or the stream (res.stream) of
/// one that did. Returns once the run has started or ended; the stream then ends with it.
void respond(const StreamOptions& options, RunWatch watch, Metrics& metrics, Work work,
             HttpResponse& res);

}  // namespace pyrunner::streaming

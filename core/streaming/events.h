#pragma once
/// Streamed runs: what a client asks for (its Accept header), the events a run's output
/// becomes, and how each is framed on the wire.
///
/// Events, in the order things happen; the result event is the last one:
///   {"type": "stdout", "text": "..."}            output as the program printed it
///   {"type": "stderr", "text": "..."}
///   {"type": "display" | "execute_result", "data": {mime: ...}, "metadata": {...}}
///   {"type": "result", "result": {...}}          the answer the route gives without streaming
///   {"type": "error", "status": 503, "detail": "..."}  instead of result: the run started but
///                                                 ended without one (shutdown, our own fault)
/// NDJSON (application/x-ndjson): one event per line. Server-Sent Events (text/event-stream):
/// "event: <type>\ndata: <the same JSON>\n\n", and a comment (": keep-alive") while quiet.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pyrunner::streaming {

enum class Format { kNone, kNdjson, kSse };

inline constexpr const char* kNdjsonType = "application/x-ndjson";
inline constexpr const char* kSseType = "text/event-stream";

/// The stream an Accept header asks for: the first of application/x-ndjson and
/// text/event-stream it names (without q=0); kNone (the JSON answer) when it names neither.
Format format_of(std::string_view accept);
const char* content_type(Format format);

/// One event on the wire: its JSON text (an object with "type") framed as `format` says.
std::string frame(Format format, std::string_view type, std::string_view json_text);
/// What SSE sends while nothing happens, so that proxies and clients see the stream alive.
inline constexpr std::string_view kSseKeepAlive = ": keep-alive\n\n";

/// A stream of output bytes cut into text events only between whole UTF-8 characters, so that
/// the events' texts put together are the result's text exactly (invalid bytes replaced alike,
/// as sanitize_utf8 does to the whole).
class TextSplitter {
 public:
  /// The text to send now; an unfinished character at the end waits for the next bytes.
  std::string push(std::string_view bytes);
  /// What is left (an unfinished character, replaced): at the end of the output.
  std::string flush();

 private:
  std::string held_;
};

/// An event's JSON text.
std::string text_event(std::string_view type, std::string_view text);
std::string result_event(std::string_view result_json);
std::string error_event(int status, std::string_view detail);

/// OpenAPI: the schema of one event, whose result event carries `result_schema`.
nlohmann::ordered_json event_schema(const nlohmann::ordered_json& result_schema);

}  // namespace pyrunner::streaming

#include "core/mcp/tools.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "core/files/mime.h"
#include "core/sessions/workdir.h"
#include "core/validator/validator.h"

namespace pyrunner::mcp {
namespace {

// Files a list_files answer names at most.
constexpr size_t kListLimit = 1000;

std::string mib(long bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes / 1024) + " KiB";
}

// 1 for 1.0, 0.5 for 0.5.
std::string cores(double n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", n);
  return buf;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string run_python_description(const Config& c, const LibraryReport& libraries) {
  const std::string python = libraries.python_version.empty() ? "3" : libraries.python_version;
  std::vector<std::string> installed;
  for (const auto& [name, version] : libraries.versions) installed.push_back(name + " " + version);
  std::string d =
      "Run Python " + python +
      " code in a persistent, sandboxed session, like a cell of a Jupyter notebook: variables, "
      "imports, functions and files persist from one call to the next (until `reset`, or until "
      "the session ends: after " +
      std::to_string(c.sessions.idle_timeout) + " s without a call, or " +
      std::to_string(c.sessions.max_lifetime) +
      " s after it started; you are told when that happened).\n\n"
      "You get back: stdout; the value of the last line when it is an expression (as in a "
      "notebook: end with `df.head()` to see it); every matplotlib figure as a PNG image "
      "(figures still open when the code ends are shown, and each plt.show()); stderr; the "
      "traceback of an uncaught exception; the files the code created or changed.\n\n"
      "Installed (import name and version): " +
      joined(installed) +
      ", and the standard library. Nothing else can be installed: there is no pip and no "
      "network.\n\n"
      "The sandbox: no network at all (no internet, no DNS, no sockets to other hosts) and no "
      "access to the host's files. The working directory is /home/user (also $HOME and "
      "/mnt/data), private to this session, " +
      std::to_string(c.sandbox.workdir_size_mb) + " MB; /tmp is private too (" +
      std::to_string(c.sandbox.tmp_size_mb) +
      " MB). Read files the code wrote with read_file, list them with list_files.\n\n"
      "Limits: a call runs at most `timeout` seconds (default " +
      std::to_string(c.limits.default_timeout) + ", at most " +
      std::to_string(c.limits.max_timeout) +
      "); then the code gets a KeyboardInterrupt and the session's state is kept. Memory: " +
      std::to_string(c.sessions.default_memory_mb) +
      " MB for the whole session (past it the call fails with memory_exceeded and the session "
      "may end). CPU: " +
      cores(c.sandbox.cpu_cores) + " core(s); " + std::to_string(c.sandbox.pids_max) +
      " processes and threads. stdout and stderr are each cut at " +
      mib(c.limits.max_output_bytes) + "; code up to " + mib(c.limits.max_code_bytes) + ".";
  if (c.policy.enabled) {
    d += "\n\nImports: a static check allows only these modules: " +
         joined(c.policy.allowed_modules) +
         ". These builtins may not be used: " + joined(c.policy.denied_builtins) + ".";
  } else {
    d += "\n\nAny installed module may be imported.";
  }
  return d;
}

json empty_object_schema() {
  return {{"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}};
}

json listing_schema() {
  return {{"type", "object"},
          {"required", {"files", "truncated"}},
          {"properties",
           {{"files",
             {{"type", "array"},
              {"items",
               {{"type", "object"},
                {"required", {"path", "size", "mime"}},
                {"properties",
                 {{"path", {{"type", "string"}}},
                  {"size", {{"type", "integer"}}},
                  {"mime", {{"type", "string"}}}}}}}}},
            {"truncated", {{"type", "boolean"}}}}}};
}

}  // namespace

json tool_definitions(const Config& c, const LibraryReport& libraries, const std::string& version) {
  const auto& l = c.limits;
  json file_item = {
      {"type", "object"},
      {"required", {"path", "content"}},
      {"properties",
       {{"path", {{"type", "string"}, {"description", "Relative to /home/user, e.g. data/in.csv"}}},
        {"content", {{"type", "string"}, {"description", "The file's text, or base64"}}},
        {"encoding", {{"type", "string"}, {"enum", {"utf8", "base64"}}, {"default", "utf8"}}}}},
      {"additionalProperties", false}};
  json run_python = {
      {"name", "run_python"},
      {"title", "Run Python"},
      {"description", run_python_description(c, libraries)},
      {"inputSchema",
       {{"type", "object"},
        {"required", {"code"}},
        {"properties",
         {{"code",
           {{"type", "string"},
            {"description", "Python source, run in the session like a notebook cell"}}},
          {"timeout",
           {{"type", "integer"},
            {"minimum", 1},
            {"maximum", l.max_timeout},
            {"default", l.default_timeout},
            {"description", "Seconds this call may run"}}},
          {"files",
           {{"type", "array"},
            {"maxItems", l.max_files},
            {"description", "Files written into /home/user before the code runs"},
            {"items", file_item}}}}},
        {"additionalProperties", false}}},
      {"outputSchema", run_output_schema()},
      {"annotations",
       {{"readOnlyHint", false},
        {"destructiveHint", false},
        {"idempotentHint", false},
        {"openWorldHint", false}}}};
  json reset = {{"name", "reset"},
                {"title", "Reset the Python session"},
                {"description",
                 "End the current Python session: every variable, import and file in /home/user is "
                 "discarded, and the next run_python starts a fresh interpreter."},
                {"inputSchema", empty_object_schema()},
                {"annotations",
                 {{"readOnlyHint", false},
                  {"destructiveHint", true},
                  {"idempotentHint", true},
                  {"openWorldHint", false}}}};
  json list_files = {
      {"name", "list_files"},
      {"title", "List the session's files"},
      {"description",
       "List the files in the session's working directory /home/user, recursively: each "
       "one's path (relative to /home/user), size in bytes and MIME type."},
      {"inputSchema", empty_object_schema()},
      {"outputSchema", listing_schema()},
      {"annotations", {{"readOnlyHint", true}, {"openWorldHint", false}}}};
  json read_file = {
      {"name", "read_file"},
      {"title", "Read a file of the session"},
      {"description",
       "Return one file of the session's working directory: text files as text, PNG, JPEG, GIF "
       "and WebP images as images, anything else as base64. Files up to " +
           mib(l.max_file_inline_bytes) +
           "; read a part of a larger one with run_python. Links are not followed."},
      {"inputSchema",
       {{"type", "object"},
        {"required", {"path"}},
        {"properties",
         {{"path",
           {{"type", "string"}, {"description", "Relative to /home/user, e.g. out/result.csv"}}}}},
        {"additionalProperties", false}}},
      {"annotations", {{"readOnlyHint", true}, {"openWorldHint", false}}}};
  json tools = json::array({run_python, reset, list_files, read_file});
  for (auto& tool : tools) {
    if (version < "2025-06-18") {  // title and outputSchema came with 2025-06-18
      tool.erase("title");
      tool.erase("outputSchema");
    }
    if (version < "2025-03-26") tool.erase("annotations");  // and annotations with 2025-03-26
  }
  return tools;
}

PythonTools::PythonTools(Services& services, ApiKey* key) : s_(services), key_(key) {}

PythonTools::~PythonTools() { close("its MCP connection ended"); }

json PythonTools::list(const std::string& version) const {
  return tool_definitions(s_.config, s_.libraries, version);
}

bool PythonTools::has(const std::string& name) const {
  return name == "run_python" || name == "reset" || name == "list_files" || name == "read_file";
}

std::string PythonTools::instructions() const {
  return "pyrunner runs Python code in a kernel sandbox with the scientific stack installed "
         "(numpy, pandas, matplotlib, scipy, sympy, scikit-learn and more; run_python's "
         "description lists them with their versions). Use run_python for calculations, data "
         "analysis and plots: its session keeps state across calls, like a notebook. It has no "
         "network. list_files and read_file return what the code wrote; reset starts over.";
}

std::string PythonTools::session_id() const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return session_id_;
}

json PythonTools::call(const std::string& name, const json& arguments, const std::string& version,
                       Call& call) {
  std::lock_guard<std::mutex> one_at_a_time(call_mutex_);
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (closed_) return tool_error("the MCP connection is closing");
  }
  if (call.cancelled) return tool_error("cancelled");
  if (name == "run_python") return run_python(arguments, version, call);
  // The other tools take no argument but read_file's path.
  const std::set<std::string> takes =
      name == "read_file" ? std::set<std::string>{"path"} : std::set<std::string>{};
  for (const auto& [key, value] : arguments.items()) {
    if (!takes.count(key))
      return tool_error(key + ": unknown argument (" + name + " takes " +
                        (takes.empty() ? "none" : "path") + ")");
  }
  if (name == "reset") return reset();
  if (name == "list_files") return list_files(version);
  return read_file(arguments);
}

void PythonTools::cancel(Call& call) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  // The code is interrupted (KeyboardInterrupt), as Jupyter's interrupt: the session and its
  // variables stay for the next run_python, unless the code does not stop within
  // sessions.interrupt_grace (then run_python() learns that the session ended).
  if (running_ == &call && !session_id_.empty()) s_.sessions.interrupt(session_id_, key_);
}

void PythonTools::close(const std::string& why) {
  std::string id;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    closed_ = true;
    id.swap(session_id_);
  }
  if (!id.empty()) s_.sessions.remove(id, key_, why);
}

void PythonTools::forget_session(const std::string& why) {
  constexpr std::string_view kEnded = "session: ended: ";
  std::lock_guard<std::mutex> lock(state_mutex_);
  session_id_.clear();
  ended_ = why.rfind(kEnded, 0) == 0 ? why.substr(kEnded.size()) : why;
}

std::variant<std::string, std::string> PythonTools::session(RunNotes* notes) {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (closed_)
      return std::variant<std::string, std::string>(std::in_place_index<1>,
                                                    "the MCP connection is closing");
    if (!session_id_.empty())
      return std::variant<std::string, std::string>(std::in_place_index<0>, session_id_);
  }
  auto made = s_.sessions.create(SessionOptions{}, key_);
  if (auto* e = std::get_if<SessionError>(&made))
    return std::variant<std::string, std::string>(std::in_place_index<1>,
                                                  "cannot start a Python session: " + e->detail);
  const std::string id = std::get<nlohmann::ordered_json>(made)["id"].get<std::string>();
  std::unique_lock<std::mutex> lock(state_mutex_);
  if (closed_) {  // closed while it was being made
    lock.unlock();
    s_.sessions.remove(id, key_, "its MCP connection ended");
    return std::variant<std::string, std::string>(std::in_place_index<1>,
                                                  "the MCP connection is closing");
  }
  session_id_ = id;
  if (notes) notes->previous_ended.swap(ended_);
  ended_.clear();
  return std::variant<std::string, std::string>(std::in_place_index<0>, session_id_);
}

json PythonTools::run_python(const json& arguments, const std::string& version, Call& call) {
  for (const auto& [key, value] : arguments.items()) {
    if (key != "code" && key != "timeout" && key != "files")
      return tool_error(key + ": unknown argument (run_python takes code, timeout and files)");
  }
  // The same checks and texts as POST /run ("code: must be a string", "timeout: must be ...").
  auto parsed = s_.validator.from_value(nlohmann::json::parse(arguments.dump()));
  if (auto* error = std::get_if<ValidationError>(&parsed)) return tool_error(error->detail);
  const RunRequest& request = std::get<RunRequest>(parsed);
  RunNotes notes;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto id = session(&notes);
    if (id.index() == 1) return tool_error(std::get<1>(id));
    {
      // cancel() sets `cancelled` before it looks for the running call: one of the two sees
      // the other.
      std::lock_guard<std::mutex> lock(state_mutex_);
      if (call.cancelled) return tool_error("cancelled");
      running_ = &call;
    }
    RunWatch watch;
    watch.client_fd = call.client_fd;
    watch.key = key_;
    // A cancellation from here on interrupts the run: cancel() while the session is busy,
    // `cancelled` if it comes before.
    auto done = s_.sessions.run(std::get<0>(id), key_, request, watch, &call.cancelled);
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      running_ = nullptr;
    }
    if (call.cancelled) {
      // Not answered; if the interrupted code did not stop, the next run says the session ended.
      if (!done.ended.empty()) forget_session(done.ended);
      return tool_error("cancelled");
    }
    if (done.refused) {
      // Ended since the last call (expired, or the server is ending it): a new session, once.
      if ((done.refused->status == 404 || done.refused->status == 410) && attempt == 0) {
        forget_session(done.refused->detail);
        continue;
      }
      return tool_error(done.refused->detail);
    }
    if (!done.outcome->ok()) {
      // The run did not happen or was cut off (a client gone, a shutdown): if that ended the
      // session, the next run says so (this answer may never be read).
      if (!done.ended.empty()) forget_session(done.ended);
      const auto abort = done.outcome->abort();
      if (abort == RunAbort::kOverLimit)
        return tool_error(done.outcome->status().message() + "; the session is unchanged");
      if (abort == RunAbort::kQueueFull || abort == RunAbort::kQueueTimeout)
        return tool_error(
            "the server is busy (every run slot is taken): try again in a few "
            "seconds; the session is unchanged");
      return tool_error("the code could not run: " + done.outcome->status().message());
    }
    if (!done.ended.empty()) forget_session("");  // this answer says so
    notes.execution_count = done.execution_count;
    notes.session_ended = done.ended;
    return run_result_content(done.outcome->value(), notes, version >= "2025-06-18");
  }
  return tool_error("cannot start a Python session");
}

json PythonTools::reset() {
  std::string id;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    id.swap(session_id_);
    ended_.clear();
  }
  if (!id.empty()) s_.sessions.remove(id, key_, "reset by its MCP client");
  return tool_text(
      "The session was reset: the next run_python starts a fresh interpreter with an empty "
      "/home/user.");
}

json PythonTools::list_files(const std::string& version) {
  const std::string id = session_id();
  nlohmann::ordered_json listing = {{"files", json::array()}, {"truncated", false}};
  std::string note;
  if (id.empty()) {
    note = "/home/user is empty: no code has run in this session yet.";
  } else {
    auto dir = s_.sessions.workdir(id, key_);
    if (auto* e = std::get_if<SessionError>(&dir)) {
      forget_session(e->detail);
      note = "The session has ended (" + e->detail + "): it has no files now.";
    } else {
      auto listed = list_workdir(std::get<UniqueFd>(dir).get(), kListLimit);
      if (!listed.ok()) return tool_error("cannot list the files: " + listed.status().message());
      listing = std::move(listed.value());
    }
  }
  std::string text;
  for (const auto& file : listing["files"])
    text += file["path"].get<std::string>() + " (" + std::to_string(file["size"].get<long long>()) +
            " bytes, " + file["mime"].get<std::string>() + ")\n";
  if (listing["truncated"] == true)
    text += "... (only the first " + std::to_string(kListLimit) + ")\n";
  if (text.empty()) text = note.empty() ? "/home/user has no files." : note;
  json out = tool_text(text);
  if (version >= "2025-06-18") out["structuredContent"] = listing;
  return out;
}

json PythonTools::read_file(const json& arguments) {
  if (!arguments.contains("path")) return tool_error("path: required");
  if (!arguments["path"].is_string()) return tool_error("path: must be a string");
  const std::string path = arguments["path"];
  if (auto reason = relative_path_error(path)) return tool_error("path: " + *reason);
  const std::string id = session_id();
  if (id.empty()) return tool_error("path: no file '" + path + "': no code has run yet");
  auto dir = s_.sessions.workdir(id, key_);
  if (auto* e = std::get_if<SessionError>(&dir)) {
    forget_session(e->detail);
    return tool_error("the session has ended (" + e->detail + "): it has no files now");
  }
  auto opened = open_workdir_file(std::get<UniqueFd>(dir).get(), path);
  if (!opened.ok()) {
    const auto& why = opened.status().message();
    if (why == "not found") return tool_error("path: no file '" + path + "' in /home/user");
    return tool_error("path: " + why);
  }
  const long cap = s_.config.limits.max_file_inline_bytes;
  if (opened->size > cap)
    return tool_error("path: '" + path + "' is " + std::to_string(opened->size) +
                      " bytes; read_file returns files up to " + mib(cap) +
                      " (limits.max_file_inline_bytes): read a part of it with run_python");
  std::string bytes(static_cast<size_t>(opened->size), '\0');
  size_t have = 0;
  while (have < bytes.size()) {
    ssize_t n = ::read(opened->fd.get(), bytes.data() + have, bytes.size() - have);
    if (n <= 0) break;
    have += static_cast<size_t>(n);
  }
  bytes.resize(have);
  return file_result_content(path, mime_type_of(path), bytes);
}

}  // namespace pyrunner::mcp

#pragma once
/// pyrunner's MCP tools for one connection: run_python, reset, list_files, read_file, over one
/// pyrunner session (core/sessions) that is made at the first run_python and ended with the
/// connection. Calls run one at a time, in the order they arrive; a session that ended
/// between calls (expired, OOM-killed) is replaced at the next run_python, which says so.

#include <mutex>
#include <string>
#include <variant>

#include "core/http/services.h"
#include "core/mcp/content.h"
#include "core/mcp/protocol.h"

namespace pyrunner::mcp {

class PythonTools : public Toolbox {
 public:
  /// `key`: the API key of the connection (/mcp with keys), whose session it makes and whose
  /// concurrent runs its calls count against; null over stdio and without keys.
  explicit PythonTools(Services& services, ApiKey* key = nullptr);
  ~PythonTools() override;  // close("its MCP connection ended")

  json list(const std::string& version) const override;
  bool has(const std::string& name) const override;
  json call(const std::string& name, const json& arguments, const std::string& version,
            Call& call) override;
  void cancel(Call& call) override;
  std::string instructions() const override;

  /// Ends the session (a run in progress is killed) and refuses later calls.
  void close(const std::string& why) override;
  /// The pyrunner session behind the connection; "" before the first run and after a reset.
  std::string session_id() const;

 private:
  json run_python(const json& arguments, const std::string& version, Call& call);
  json reset();
  json list_files(const std::string& version);
  json read_file(const json& arguments);
  /// The session's id, made now if there is none; or the refusal's text.
  std::variant<std::string, std::string> session(RunNotes* notes);
  void forget_session(const std::string& why);

  Services& s_;
  ApiKey* const key_;
  std::mutex call_mutex_;  // one call at a time
  mutable std::mutex state_mutex_;
  std::string session_id_;
  std::string ended_;        // why the last session ended, if it ended by itself; told once
  Call* running_ = nullptr;  // the call whose run is in progress
  bool closed_ = false;
};

/// The tools (name, description, inputSchema, ...) as this server's config and libraries make
/// them; `version` decides the fields (title, annotations, outputSchema are newer).
json tool_definitions(const Config& config, const LibraryReport& libraries,
                      const std::string& version);

}  // namespace pyrunner::mcp

#include "core/grading/cases.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace pyrunner::grading {
namespace {

namespace fs = std::filesystem;

LoadedCases unreadable(const std::string& message) { return {{}, CasesError{true, message}}; }
LoadedCases malformed(const std::string& message) { return {{}, CasesError{false, message}}; }

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return !in.bad();
}

// "2" before "10": digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      std::string x = a.substr(i, i2 - i), y = b.substr(j, j2 - j);
      x.erase(0, std::min(x.find_first_not_of('0'), x.size()));
      y.erase(0, std::min(y.find_first_not_of('0'), y.size()));
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = i2;
      j = j2;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

LoadedCases from_directory(const std::string& dir) {
  std::map<std::string, std::map<std::string, std::string>> found;  // name -> ext -> path
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto ext = entry.path().extension().string();
    if (ext != ".in" && ext != ".out" && ext != ".ans") continue;
    found[entry.path().stem().string()][ext] = entry.path().string();
  }
  if (ec) return unreadable("cannot read the directory '" + dir + "': " + ec.message());
  std::vector<std::string> names;
  for (const auto& [name, files] : found) names.push_back(name);
  std::sort(names.begin(), names.end(), natural_less);
  LoadedCases out;
  for (const auto& name : names) {
    const auto& files = found[name];
    const auto in = files.find(".in");
    const bool has_out = files.count(".out") > 0, has_ans = files.count(".ans") > 0;
    const std::string base = (fs::path(dir) / name).string();
    if (in == files.end())
      return malformed(base + (has_out ? ".out" : ".ans") + ": no " + name + ".in beside it");
    if (!has_out && !has_ans)
      return malformed(in->second + ": no " + name + ".out or " + name + ".ans beside it");
    if (has_out && has_ans)
      return malformed(base + ".ans: both " + name + ".out and " + name +
                       ".ans are there; keep one");
    TestCase test;
    test.name = name;
    const std::string expected = files.at(has_out ? ".out" : ".ans");
    if (!read_file(in->second, &test.stdin_data))
      return unreadable("cannot read '" + in->second + "'");
    if (!read_file(expected, &test.expected_output))
      return unreadable("cannot read '" + expected + "'");
    out.tests.push_back(std::move(test));
  }
  if (out.tests.empty())
    return malformed(dir + ": no cases (NAME.in with NAME.out or NAME.ans) in this directory");
  return out;
}

std::string where(const std::string& file, const YAML::Node& node) {
  return file + ":" + std::to_string(node.Mark().line + 1) + ": ";
}

// A YAML scalar as text; null when it is null.
bool text_of(const YAML::Node& node, std::string* out) {
  if (!node.IsScalar()) return false;
  *out = node.Scalar();
  return true;
}

LoadedCases from_file(const std::string& file, const RequestValidator& validator,
                      const LimitsConfig& limits) {
  std::string text;
  if (!read_file(file, &text)) return unreadable("cannot read cases '" + file + "'");
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return malformed(file + ":" + std::to_string(e.mark.line + 1) +
                     ": not valid YAML or JSON: " + e.msg);
  }
  if (!root.IsSequence())
    return malformed(file + ":1: must be a list of cases (each with expected_output)");
  if (root.size() == 0) return malformed(file + ":1: the list of cases is empty");
  static const std::set<std::string> kKeys = {"name", "stdin", "expected_output", "timeout",
                                              "memory_limit"};
  LoadedCases out;
  for (size_t i = 0; i < root.size(); ++i) {
    const YAML::Node item = root[i];
    const std::string at = where(file, item) + "case " + std::to_string(i + 1) + ": ";
    if (!item.IsMap()) return malformed(at + "must be a mapping with expected_output");
    TestCase test;
    test.name = std::to_string(i + 1);
    bool has_expected = false;
    for (const auto& entry : item) {
      const std::string key = entry.first.as<std::string>();
      const YAML::Node& value = entry.second;
      const std::string here = where(file, entry.first) + "case " + std::to_string(i + 1) + ": ";
      if (!kKeys.count(key))
        return malformed(here + key +
                         ": unknown key (known: name, stdin, expected_output, "
                         "timeout, memory_limit)");
      if (value.IsNull()) continue;
      std::string scalar;
      if (!text_of(value, &scalar))
        return malformed(here + key + ": must be text, not a " +
                         (value.IsMap() ? "mapping" : "list"));
      if (key == "name") {
        test.name = scalar;
      } else if (key == "stdin") {
        test.stdin_data = scalar;
      } else if (key == "expected_output") {
        test.expected_output = scalar;
        has_expected = true;
      } else {
        RunRequest scratch;
        if (auto e = validator.read_limit_flag(key, scalar, &scratch))
          return malformed(here + e->detail);
        if (key == "timeout") {
          test.timeout_s = scratch.timeout_s;
        } else {
          test.memory_mb = scratch.memory_mb;
        }
      }
    }
    if (!has_expected) return malformed(at + "expected_output: field required");
    if (static_cast<long>(test.stdin_data.size()) > limits.max_stdin_bytes)
      return malformed(at + "stdin: must be at most " + std::to_string(limits.max_stdin_bytes) +
                       " bytes");
    out.tests.push_back(std::move(test));
  }
  return out;
}

}  // namespace

LoadedCases load_cases(const std::string& path, const RequestValidator& validator,
                       const LimitsConfig& limits) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return unreadable("cannot read cases '" + path + "'");
  LoadedCases out = S_ISDIR(st.st_mode) ? from_directory(path) : from_file(path, validator, limits);
  if (out.error) return out;
  for (const auto& test : out.tests) {
    if (static_cast<long>(test.expected_output.size()) > limits.max_output_bytes)
      return malformed(path + ": case '" + test.name + "': expected output of " +
                       std::to_string(test.expected_output.size()) +
                       " bytes is over the output cap limits.max_output_bytes (" +
                       std::to_string(limits.max_output_bytes) + "); it could never match");
  }
  return out;
}

}  // namespace pyrunner::grading

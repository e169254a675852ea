#include "core/http/framing.h"

#include <strings.h>

#include <algorithm>

namespace pyrunner {
namespace {

using State = RequestFrame::State;

// A chunk's size line ("1a2b;name=value") is never longer than this.
constexpr size_t kMaxChunkLine = 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// A decimal Content-Length: digits only, no sign, no more than fit.
bool parse_length(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// A chunk size: hex digits, then optionally ";extensions".
bool parse_chunk_size(std::string_view line, uint64_t* out) {
  const size_t end = std::min(line.find(';'), line.size());
  const std::string_view digits = trim(line.substr(0, end));
  if (digits.empty() || digits.size() > 15) return false;
  uint64_t v = 0;
  for (char c : digits) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return false;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace

void RequestFramer::reset() {
  frame_ = RequestFrame{};
  head_scanned_ = chunk_at_ = 0;
  chunk_total_ = 0;
  in_trailers_ = false;
}

void RequestFramer::parse_head(std::string_view head) {
  const auto bad = [this](std::string detail) {
    frame_.state = State::kBad;
    frame_.detail = std::move(detail);
  };
  size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == 0 || sp2 == std::string_view::npos || sp2 == sp1 + 1)
    return bad("malformed request line");
  frame_.method = std::string(line.substr(0, sp1));
  frame_.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  bool has_length = false;
  size_t at = eol + 2;
  while (at < head.size()) {
    eol = head.find("\r\n", at);
    const std::string_view field = head.substr(at, eol - at);
    if (field.empty()) return bad("malformed header line");
    if (field.front() == ' ' || field.front() == '\t')
      return bad("obsolete header line folding is not accepted");
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad("malformed header line");
    const std::string_view name = field.substr(0, colon), value = trim(field.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      uint64_t n = 0;
      if (!parse_length(value, &n)) return bad("Content-Length: not a length");
      if (has_length && n != frame_.content_length)
        return bad("Content-Length: given twice, differently");
      has_length = true;
      frame_.content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      if (frame_.chunked) return bad("Transfer-Encoding: given twice");
      if (!iequals(value, "chunked")) return bad("Transfer-Encoding: only chunked is accepted");
      frame_.chunked = true;
    } else if (iequals(name, "Expect")) {
      if (iequals(value, "100-continue")) {
        frame_.expect_continue = true;
        frame_.expect_at = at;
      }
    }
    at = eol + 2;
  }
  // Both would let a proxy in front of us and our own parser disagree on where this request
  // ends (request smuggling).
  if (has_length && frame_.chunked)
    return bad("Content-Length and Transfer-Encoding together are not accepted");
}

void RequestFramer::scan_chunks(std::string_view bytes) {
  for (;;) {
    const size_t eol = bytes.find("\r\n", chunk_at_);
    if (eol == std::string_view::npos) {
      if (bytes.size() - chunk_at_ > kMaxChunkLine) {
        frame_.state = State::kBad;
        frame_.detail = in_trailers_ ? "chunked body: trailer line too long"
                                     : "chunked body: chunk size line too long";
      }
      return;
    }
    const std::string_view line = bytes.substr(chunk_at_, eol - chunk_at_);
    if (in_trailers_) {
      chunk_at_ = eol + 2;
      if (line.empty()) {
        frame_.state = State::kComplete;
        frame_.size = chunk_at_;
        return;
      }
      continue;
    }
    uint64_t size = 0;
    if (!parse_chunk_size(line, &size)) {
      frame_.state = State::kBad;
      frame_.detail = "chunked body: malformed chunk size";
      return;
    }
    if (size == 0) {
      in_trailers_ = true;
      chunk_at_ = eol + 2;
      continue;
    }
    if (chunk_total_ + size > limits_.max_body_bytes) {
      frame_.state = State::kBodyTooLarge;
      return;
    }
    const size_t data_end = eol + 2 + size;
    if (bytes.size() < data_end + 2) return;  // the chunk is still arriving
    if (bytes.substr(data_end, 2) != "\r\n") {
      frame_.state = State::kBad;
      frame_.detail = "chunked body: chunk not followed by CRLF";
      return;
    }
    chunk_total_ += size;
    chunk_at_ = data_end + 2;
  }
}

const RequestFrame& RequestFramer::examine(std::string_view bytes) {
  if (frame_.state != State::kIncomplete) return frame_;
  if (!frame_.head_done()) {
    const size_t from = head_scanned_ >= 3 ? head_scanned_ - 3 : 0;
    const size_t blank = bytes.find("\r\n\r\n", from);
    if (blank == std::string_view::npos) {
      head_scanned_ = bytes.size();
      if (bytes.size() > limits_.max_head_bytes) frame_.state = State::kHeadTooLarge;
      return frame_;
    }
    if (blank + 4 > limits_.max_head_bytes) {
      frame_.state = State::kHeadTooLarge;
      return frame_;
    }
    frame_.head_size = blank + 4;
    parse_head(bytes.substr(0, blank + 2));
    if (frame_.state != State::kIncomplete) return frame_;
    if (frame_.content_length > limits_.max_body_bytes) {
      frame_.state = State::kBodyTooLarge;
      return frame_;
    }
    chunk_at_ = frame_.head_size;
  }
  if (frame_.chunked) {
    scan_chunks(bytes);
  } else if (bytes.size() >= frame_.head_size + frame_.content_length) {
    frame_.state = State::kComplete;
    frame_.size = frame_.head_size + static_cast<size_t>(frame_.content_length);
  }
  return frame_;
}

}  // namespace pyrunner

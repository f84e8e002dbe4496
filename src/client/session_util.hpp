// session_util.hpp — texts shared by the QMTP and QMQP sessions (private to src/client).
//
// Purpose:   one wording for every temporary failure a session reports (listed in client.hpp).
// Trust:     none; libuv error names only.
// Errors:    none.
// Threading: pure functions.
#pragma once

#include <uv.h>

#include <string>

#include "nullq/reply.hpp"

namespace nullq::client::detail {

// Why the server was never reached, for the temporary reply of every recipient.
inline std::string connect_failure_text(int status) {
  switch (status) {
    case UV_ECONNREFUSED: return "connection refused";
    case UV_ETIMEDOUT: return "connection timed out";
    default: return std::string("cannot connect: ") + uv_strerror(status);
  }
}

inline std::string read_failure_text(int status) {
  return std::string("connection closed before reply (") + uv_strerror(status) + ")";
}

inline constexpr const char* text_closed = "connection closed before reply";
inline constexpr const char* text_io_timeout = "timed out waiting for the server";
inline constexpr const char* text_session_timeout = "session time limit reached";

inline proto::Reply temporary(std::string text) { return proto::Reply{proto::Verdict::temporary, std::move(text)}; }

}  // namespace nullq::client::detail

// send/notify.hpp — sd_notify(3) without libsystemd.
//
// Purpose:   tell systemd READY=1, STATUS=..., STOPPING=1 by sending one datagram to $NOTIFY_SOCKET.
// Trust:     NOTIFY_SOCKET comes from the service manager; only absolute paths and abstract names
//            ("@...") are used; anything else is ignored.
// Errors:    returns the socket error; callers ignore it (notification is best effort). Without
//            NOTIFY_SOCKET it does nothing and succeeds.
// Threading: any thread; no shared state.
#pragma once

#include <string_view>

#include "nullq/result.hpp"

namespace nullq::send {

Status sd_notify(std::string_view state);
// Same, to an explicit socket address (tests).
Status sd_notify_to(std::string_view socket_path, std::string_view state);

}  // namespace nullq::send

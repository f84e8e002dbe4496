// send/routes.hpp — which smart hosts a recipient takes: the `routes:` table of the config applied
// to one envelope sender and one recipient (DESIGN.md "Routing").
//
// Purpose:   a pure function of config + envelope, used by delivery (recipients grouped by route)
//            and by `nullq route` / `nullq check` (which print why). No I/O.
// Trust:     addresses come from queue files (validated envelopes) or the admin's command line;
//            only compared, never echoed here.
// Errors:    none: without `routes:` every recipient takes every smart host in order; with it the
//            config loader guarantees a last default rule.
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/config.hpp"

namespace nullq::send {

// No `routes:` in the config: the one implicit rule, every smart host in order.
inline constexpr std::size_t all_hosts = static_cast<std::size_t>(-1);

// The index into cfg.routes of the first rule that takes `recipient` of a message from `sender`
// ("" = the null sender, which matches no sender pattern), or all_hosts without `routes:`.
std::size_t match_route(const config::Config& cfg, std::string_view sender, std::string_view recipient);

// The smart hosts (indexes into cfg.smarthosts) of a route as match_route gives it.
std::vector<std::size_t> route_hosts(const config::Config& cfg, std::size_t route);

// Why a rule matched, for `nullq route`: "sender x@y matches \"*@y\"", "recipient domain y matches
// \"*.y\"", "default rule", "no routes: every smart host in order".
std::string route_reason(const config::Config& cfg, std::size_t route, std::string_view sender,
                         std::string_view recipient);

// One line describing a rule, for `nullq check`: "sender *@b.example, recipient_domain c.example -> m365, backup".
std::string describe_route(const config::Config& cfg, std::size_t route);

// The pattern tests on their own (lower-case patterns, as the loader stores them; any case of input).
bool sender_matches(std::string_view pattern, std::string_view sender);
bool domain_matches(std::string_view pattern, std::string_view domain);

}  // namespace nullq::send

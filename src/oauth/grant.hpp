// grant.hpp — token endpoint requests and the reading of their answers (RFC 6749 §5, RFC 8628).
//
// Purpose:   POST a grant, turn the answer into tokens or a classified failure, exactly as
//            include/nullq/oauth.hpp describes: temporary for network errors, timeouts, HTTP 5xx
//            and 429, "temporarily_unavailable", "slow_down"; everything else needs the admin.
// Trust:     the answer is hostile: JSON parsed without exceptions, every field type-checked,
//            tokens limited to printable ASCII and 8 KiB, descriptions made printable and capped.
// Errors:    a Failure value, never an exception; descriptions never hold a secret.
// Threading: any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "http_post.hpp"

namespace nullq::oauth {

struct Failure {
  std::string error;        // RFC 6749 §5.2 code, or network, http_NNN, bad_answer, ...
  std::string description;  // printable, capped
  bool temporary = false;
};

struct Tokens {
  std::string access_token, refresh_token;  // refresh_token "" when none was answered
  long long expires_in = 3600;
};

struct JsonAnswer {
  bool ok = false;
  nlohmann::json json;  // ok: the 200 answer's object
  Failure failure;      // !ok
};

// POST the form and read a JSON object answer (status 200), or the failure.
JsonAnswer post_for_json(const std::string& url, const Form& form, const std::string& ca_file, long timeout_seconds);

struct TokenAnswer {
  bool ok = false;
  Tokens tokens;
  Failure failure;
};

// POST a grant to the token endpoint and read the token answer.
TokenAnswer request_tokens(const std::string& token_url, const Form& form, const std::string& ca_file,
                           long timeout_seconds);

// RFC 6749 error codes that are worth retrying later without the admin.
bool temporary_error(const std::string& error);
// Printable ASCII, at most `cap` bytes (non-printable bytes become '?').
std::string printable(std::string_view text, std::size_t cap = 200);

}  // namespace nullq::oauth

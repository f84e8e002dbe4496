// pkce.hpp — RFC 7636 proof keys and random state values.
//
// Purpose:   the code_verifier (32 random bytes, base64url: 43 characters), its S256 challenge,
//            and the `state` that ties a redirect to this login.
// Trust:     none; RAND_bytes failing is a broken system and aborts.
// Errors:    none.
// Threading: any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nullq::oauth {

std::string base64url(const unsigned char* data, std::size_t n);  // no padding
std::string random_urlsafe(std::size_t bytes);                    // base64url of RAND_bytes
std::string s256_challenge(std::string_view verifier);            // base64url(SHA-256(verifier))

}  // namespace nullq::oauth

// suggest.hpp — "did you mean": the known word closest to a mistyped one.
//
// Purpose:   a mistyped config key (`smarthost`) or admin command (`lsit`) is answered with the name
//            that was probably meant, in the config loader and in the `nullq` command line alike.
// Trust:     `word` is the user's text; the candidates are the program's own names.
// Errors:    none.
// Threading: pure function.
#pragma once

#include <span>
#include <string_view>

namespace nullq {

// The candidate fewest edits (Levenshtein) away from `word`, if fewer than three; "" otherwise.
std::string_view closest(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace nullq

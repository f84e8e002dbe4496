#include "nullq/printable.hpp"

namespace nullq {

std::string printable(std::string_view text, std::size_t cap) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() < cap ? text.size() : cap);
  // `fits` is the length up to which "..." can still be appended within cap; it only grows at
  // character/escape boundaries, so a cut never splits an escape.
  std::size_t fits = 0;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
    if (out.size() > cap) {
      out.resize(fits);
      out.append(cap - fits < 3 ? cap - fits : 3, '.');
      return out;
    }
    if (out.size() + 3 <= cap) fits = out.size();
  }
  return out;
}

}  // namespace nullq

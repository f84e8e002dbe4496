// smtp_script.cpp — the SMTP script and capability list of the test host (testhost.hpp).
#include <cctype>
#include <string>

#include "nullq/testhost.hpp"

namespace nullq::testhost {

namespace {

constexpr const char* stage_names[] = {"banner", "ehlo", "starttls", "auth", "mail",
                                       "rcpt", "data", "dot", "rset", "quit"};

Result<SmtpStage> stage_named(std::string_view name) {
  for (std::size_t i = 0; i < smtp_stage_count; ++i)
    if (name == stage_names[i]) return static_cast<SmtpStage>(i);
  return Error::permanent(ErrorDomain::usage, "bad SMTP stage '" + std::string(name) + "'");
}

bool digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// NNN or NNN:X.Y.Z
Result<SmtpAnswer> answer_from(std::string_view text) {
  SmtpAnswer a;
  std::string_view code = text.substr(0, text.find(':'));
  if (code.size() != 3 || !digits(code) || code[0] < '2' || code[0] > '5')
    return Error::permanent(ErrorDomain::usage, "bad SMTP answer '" + std::string(text) + "'");
  a.code = std::stoi(std::string(code));
  if (code.size() < text.size()) {
    std::string_view e = text.substr(4);
    // class.subject.detail, each 1-3 digits, class matching the code
    std::size_t d1 = e.find('.'), d2 = d1 == std::string_view::npos ? d1 : e.find('.', d1 + 1);
    if (d2 == std::string_view::npos || !digits(e.substr(0, d1)) || !digits(e.substr(d1 + 1, d2 - d1 - 1)) ||
        !digits(e.substr(d2 + 1)) || e.size() > 11 || e[0] != code[0])
      return Error::permanent(ErrorDomain::usage, "bad enhanced code in '" + std::string(text) + "'");
    a.enhanced = std::string(e);
  }
  return a;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

Result<SmtpStep> step_from(std::string_view text) {
  SmtpStep step;
  if (text.empty()) return step;
  for (std::string_view item : split(text, ',')) {
    std::size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (item == "tls-fail") {
      step.tls_fail = true;
    } else if (item == "multiline") {
      step.multiline = true;
    } else if (item == "cr-dot-cr") {
      step.cr_dot_cr = true;
    } else if (item == "hang") {
      step.hang = SmtpStage::dot;
    } else if (item.substr(0, 6) == "delay:" && digits(item.substr(6)) && item.size() <= 12) {
      step.delay_ms = std::stoi(std::string(item.substr(6)));
    } else if (eq != std::string_view::npos && (key == "close-after" || key == "hang" || key == "long")) {
      auto st = stage_named(value);
      if (!st) return std::move(st).error();
      (key == "close-after" ? step.close_after : key == "hang" ? step.hang : step.long_line) = *st;
    } else if (eq != std::string_view::npos) {
      auto st = stage_named(key);
      if (!st) return Error::permanent(ErrorDomain::usage, "bad SMTP script item '" + std::string(item) + "'");
      auto& per_message = step.answers[static_cast<std::size_t>(*st)];
      for (std::string_view one : split(value, '/')) {
        std::vector<SmtpAnswer> answers;
        auto parts = *st == SmtpStage::rcpt ? split(one, '|') : std::vector<std::string_view>{one};
        for (std::string_view part : parts) {
          auto a = answer_from(part);
          if (!a) return std::move(a).error();
          answers.push_back(*a);
        }
        per_message.push_back(std::move(answers));
      }
    } else {
      return Error::permanent(ErrorDomain::usage, "bad SMTP script item '" + std::string(item) + "'");
    }
  }
  return step;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const char* to_string(SmtpStage stage) {
  return stage == SmtpStage::none ? "none" : stage_names[static_cast<std::size_t>(stage)];
}

Result<std::vector<SmtpStep>> parse_smtp_script(std::string_view script) {
  std::vector<SmtpStep> steps;
  for (std::string_view text : split(script, ';')) {
    auto step = step_from(text);
    if (!step) return std::move(step).error();
    steps.push_back(std::move(*step));
  }
  return steps;
}

Result<SmtpCaps> parse_caps(std::string_view list) {
  SmtpCaps caps;
  caps.pipelining = caps.eightbitmime = caps.enhanced = false;
  if (upper(list) == "NONE") return caps;
  for (std::string_view word : split(list, ',')) {
    std::string w = upper(word);
    if (w == "PIPELINING") caps.pipelining = true;
    else if (w == "8BITMIME") caps.eightbitmime = true;
    else if (w == "SMTPUTF8") caps.smtputf8 = true;
    else if (w == "STARTTLS") caps.starttls = true;
    else if (w == "AUTH") caps.auth = true;
    else if (w == "XOAUTH2") caps.xoauth2 = true;
    else if (w == "OAUTHBEARER") caps.oauthbearer = true;
    else if (w == "ENHANCEDSTATUSCODES") caps.enhanced = true;
    else if (w == "DSN") caps.dsn = true;
    else if (w.substr(0, 5) == "SIZE=" && digits(w.substr(5)) && w.size() <= 17 && std::stoull(w.substr(5)) > 0)
      caps.size = static_cast<std::size_t>(std::stoull(w.substr(5)));
    else return Error::permanent(ErrorDomain::usage, "bad SMTP capability '" + std::string(word) + "'");
  }
  return caps;
}

}  // namespace nullq::testhost

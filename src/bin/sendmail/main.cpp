#include <cstdio>

int main() {
  std::fputs("nullq-sendmail: not built yet\n", stderr);
  return 69;
}

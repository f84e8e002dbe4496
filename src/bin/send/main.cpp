#include <cstdio>

int main() {
  std::fputs("nullq-send: not built yet\n", stderr);
  return 69;
}

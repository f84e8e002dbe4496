#include <cstdio>

int main() {
  std::fputs("nullq: not built yet\n", stderr);
  return 69;
}

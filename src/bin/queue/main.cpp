#include <cstdio>

int main() {
  std::fputs("nullq-queue: not built yet\n", stderr);
  return 69;
}

#include <cstdio>

int main() {
  std::fputs("nullq-testhost: not built yet\n", stderr);
  return 69;
}

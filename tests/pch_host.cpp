// The target that compiles the test binaries' precompiled header
// (tests/CMakeLists.txt, bbr_test_pch). Never run.
int main() { return 0; }

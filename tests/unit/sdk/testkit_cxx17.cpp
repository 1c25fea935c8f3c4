// bbr/testkit.hpp promises C++17 and the standard library only: this file is
// compiled with CXX_STANDARD 17 (deps.cmake) to hold it to that.
#include <bbr/testkit.hpp>

#if __cplusplus != 201703L
#error "build this file with -std=c++17"
#endif

bool testkit_header_compiles_as_cxx17() {
  bbr::testkit::Exchange x;
  x.request_headers = {{":path", "/v1/completions"}};
  return x.response_body.empty();
}

/* Built twice (abi_duplicate_a.so, abi_duplicate_b.so): two files declaring the
 * same plugin type, which the registry must refuse naming both files. */
#include "abi_test_plugin.h"

static bbr_result_t pass(void* instance, bbr_message_t* msg) {
  (void)instance;
  (void)msg;
  return BBR_CONTINUE;
}

ABI_TEST_EXPORT_REQUEST_TYPE("abi-test-duplicate", "declared by two files", abi_test_create, pass)

/* Built twice (abi_duplicate_a.so, abi_duplicate_b.so): two files declaring the
 * same plugin type, which the registry must refuse naming both files. */
#include "abi_test_plugin.h"

static bbr_result_t pass(void* instance, bbr_message_t* msg) {
  (void)instance;
  (void)msg;
  return BBR_CONTINUE;
}

static const bbr_plugin_type_t the_type = {sizeof(bbr_plugin_type_t),
                                           "abi-test-duplicate",
                                           "1.0.0",
                                           "declared by two files",
                                           BBR_CAP_REQUEST,
                                           NULL,
                                           abi_test_create,
                                           abi_test_destroy,
                                           pass,
                                           NULL};
static const bbr_plugin_type_t* const types[] = {&the_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}

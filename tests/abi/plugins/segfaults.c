/* Dereferences NULL in process_request: `plugins validate` must survive it by
 * running each file in a child process. Never load this into a real host. */
#include "abi_test_plugin.h"

static bbr_result_t crash(void* instance, bbr_message_t* msg) {
  volatile int* volatile nowhere = NULL;
  (void)instance;
  (void)msg;
  *nowhere = 42;
  return BBR_CONTINUE;
}

static const bbr_plugin_type_t the_type = {sizeof(bbr_plugin_type_t),
                                           "abi-test-segfaults",
                                           "1.0.0",
                                           "segfaults on every request",
                                           BBR_CAP_REQUEST,
                                           NULL,
                                           abi_test_create,
                                           abi_test_destroy,
                                           crash,
                                           NULL};
static const bbr_plugin_type_t* const types[] = {&the_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}

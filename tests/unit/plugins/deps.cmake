# unit_plugins dlopens the real in-tree plugins: build them first. The tests
# drive them through the SDK's test kit (bbr::testkit), as a plugin author
# would; plugin_harness.hpp keeps the helpers the kit has no need to offer
# (temp dirs, files, waiting on the watcher, stderr at create).
# Included from tests/unit/CMakeLists.txt after the unit_<area> targets exist.
if(TARGET unit_plugins)
  add_dependencies(unit_plugins body-field-to-header base-model-to-header)
  target_link_libraries(unit_plugins PRIVATE bbr_testkit)
endif()

# unit_plugins dlopens the real in-tree plugins: build them first. The tests
# drive them through the SDK's test kit (bbr::testkit), as a plugin author
# would; plugin_harness.hpp keeps the helpers the kit has no need to offer
# (temp dirs, files, waiting on the watcher, stderr at create).
# Included from tests/unit/CMakeLists.txt after the unit_<area> targets exist.
if(TARGET unit_plugins)
  # Every in-tree plugin the tests load (each only if this tree has it).
  foreach(plugin body-field-to-header base-model-to-header model-rewrite model-selector
      body-fields-to-headers header-to-body response-model-rewrite guardrail usage-metrics affinity)
    if(TARGET ${plugin})
      add_dependencies(unit_plugins ${plugin})
    endif()
  endforeach()
  # The plugins' own logic (plugins/<name>/*.hpp) is also tested without a
  # host: it needs RE2, the guardrail's pattern engine and the plugins' headers.
  include(${PROJECT_SOURCE_DIR}/plugins/guardrail/pattern_set.cmake)
  target_include_directories(unit_plugins PRIVATE ${PROJECT_SOURCE_DIR}/plugins)
  target_link_libraries(unit_plugins PRIVATE guardrail_pattern_set nlohmann_json::nlohmann_json)
  target_link_libraries(unit_plugins PRIVATE bbr_testkit)
endif()

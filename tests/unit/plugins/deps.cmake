# unit_plugins dlopens the real in-tree plugins: build them first.
# Included from tests/unit/CMakeLists.txt after the unit_<area> targets exist.
if(TARGET unit_plugins)
  add_dependencies(unit_plugins body-field-to-header base-model-to-header)
endif()

# unit_session builds its chains from the real in-tree plugins (dlopen): build
# them first, also when only this target is asked for (test.sh's TSan stage).
if(TARGET unit_session)
  add_dependencies(unit_session body-field-to-header base-model-to-header)
endif()

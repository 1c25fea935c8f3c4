# unit_guards drives the real Session with the default chain, whose plugins
# are the in-tree ones (dlopen): build them first.
if(TARGET unit_guards)
  add_dependencies(unit_guards body-field-to-header base-model-to-header)
endif()

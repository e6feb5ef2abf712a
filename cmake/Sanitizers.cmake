# SOCKIT_SANITIZE applies one sanitizer set to everything built in this tree.
if(SOCKIT_SANITIZE)
  set(_flags -fsanitize=${SOCKIT_SANITIZE} -fno-omit-frame-pointer -g)
  if(SOCKIT_SANITIZE MATCHES "undefined")
    list(APPEND _flags -fno-sanitize-recover=all)
  endif()
  add_compile_options(${_flags})
  add_link_options(-fsanitize=${SOCKIT_SANITIZE})
endif()

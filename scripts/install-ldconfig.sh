#!/bin/sh
# Run by `meson install` (meson.add_install_script in meson.build; meson
# skips it when DESTDIR is set: a package's postinst runs ldconfig): refresh
# the dynamic linker's cache so that programs and the Python binding find
# the libjobq.so.0 just installed without LD_LIBRARY_PATH.
#   install-ldconfig.sh LIBDIR
libdir=$1
PATH=$PATH:/sbin:/usr/sbin
if [ "$(id -u)" -ne 0 ]; then
    echo "libjobq: not root, ldconfig not run; run it as root, or set" \
         "LD_LIBRARY_PATH=$libdir"
    exit 0
fi
if ! command -v ldconfig >/dev/null; then
    echo "libjobq: no ldconfig here; set LD_LIBRARY_PATH=$libdir if needed"
    exit 0
fi
ldconfig || exit 0
if ldconfig -p | grep -q "libjobq\.so\.0 .*=> $libdir/"; then
    echo "libjobq: ldconfig: $libdir/libjobq.so.0 is in the linker cache"
else
    echo "libjobq: $libdir is not in the linker's search path: add it to" \
         "/etc/ld.so.conf.d/ and run ldconfig, or set LD_LIBRARY_PATH"
fi

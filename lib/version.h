/*
 * version.h - brook's version, said once.
 *
 * brookd --version, brook --version and the pkg-config file all print this string;
 * the Makefile reads it from here (with sed) for brook.pc, so a release changes
 * this line and nothing else.
 */
#ifndef BROOK_LIB_VERSION_H
#define BROOK_LIB_VERSION_H

#define BROOK_VERSION "0.1.0"

#endif

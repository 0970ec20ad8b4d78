// What `nacre -V` prints (ssh -V prints OpenSSH's version and OpenSSL's).
export const NACRE_VERSION = 'Nacre_0.1.0';

// What `nacre-keygen` prints for bad flags (ssh-keygen's wording: the
// message, then "usage:" on stderr, exit 1) and for --help (what is
// supported today, on stdout, exit 0).

export const KEYGEN_USAGE = `usage: nacre-keygen [-q] [-a rounds] [-b bits] [-C comment] [-f output_keyfile]
                    [-m format] [-N new_passphrase] [-t ecdsa | ed25519 | rsa]
                    [-Z cipher]
       nacre-keygen -p [-a rounds] [-f keyfile] [-m format] [-N new_passphrase]
                    [-P old_passphrase] [-Z cipher]
       nacre-keygen -i [-f input_keyfile] [-m key_format]
       nacre-keygen -e [-f input_keyfile] [-m key_format]
       nacre-keygen -y [-P passphrase] [-f input_keyfile]
       nacre-keygen -c [-a rounds] [-C comment] [-f keyfile] [-P passphrase]
       nacre-keygen -l [-v] [-E fingerprint_hash] [-f input_keyfile]
       nacre-keygen -F hostname [-lv] [-H] [-f known_hosts_file]
       nacre-keygen -H [-f known_hosts_file]
       nacre-keygen -R hostname [-f known_hosts_file]
       nacre-keygen -Y find-principals -s signature_file -f allowed_signers_file
       nacre-keygen -Y match-principals -I signer_identity -f allowed_signers_file
       nacre-keygen -Y check-novalidate -n namespace -s signature_file
       nacre-keygen -Y sign -f key_file -n namespace file [-O option] ...
       nacre-keygen -Y verify -f allowed_signers_file -I signer_identity
                    -n namespace -s signature_file [-O option]
       nacre-keygen -s ca_key [-U] -I certificate_identity [-h] [-n principals]
                    [-O option] [-V validity_interval] [-z serial_number] file ...
       nacre-keygen -L [-f input_keyfile]
       nacre-keygen -k [-u] -f krl_file [-s ca_public] [-z version_number] file ...
       nacre-keygen -Q [-l] -f krl_file [file ...]
`;

export const KEYGEN_HELP = `nacre-keygen: OpenSSH key tool, taking ssh-keygen(1)'s flags.

${KEYGEN_USAGE}
Supported now:
  generate        -t ed25519|ecdsa|rsa -b bits -C comment -N passphrase -f file -q
                  -m PEM|PKCS8|RFC4716 (private key format), -Z cipher, -a rounds
  public key      -y [-P passphrase] -f key
  fingerprint     -l [-v] [-E sha256|md5|sha1|sha384|sha512] -f file
                  (keys, .pub, authorized_keys, known_hosts; -v draws the randomart)
  passphrase      -p [-P old] [-N new] [-m format] [-Z cipher] [-a rounds] -f key
  comment         -c [-C comment] [-P passphrase] -f key
  convert         -e|-i [-m RFC4716|PKCS8|PEM] -f file  (public keys; -i also SSH.com RSA private keys)
                  -e -m PPK [-P pass] [-N ppk_pass] -f key  (PuTTY private key, stdout)
  certificates    -s ca_key [-U] -I id [-h] [-n principals] [-V validity] [-z serial] [-O option] key.pub
                  -L -f cert
  KRLs            -k [-u] -f krl [-s ca.pub|none] [-z version] [-C comment] spec...
                  -Q [-l] -f krl key...  (-l lists the KRL)
  host keys       -A [-f prefix]  (generate the missing ones)
                  -r hostname [-g] [-O hashalg=sha1|sha256] [-f key]  (SSHFP records)
  known_hosts     -F host [-l] [-H], -R host, -H  (with -f file; default ~/.ssh/known_hosts)
  signatures      -Y sign | verify | find-principals | check-novalidate | match-principals
                  -O hashalg=sha256|sha512, -O verify-time=YYYYMMDD[HHMM[SS]][Z], -O print-pubkey
                  usable as git's gpg.ssh.program

                  -Y sign -f key-cert.pub signs with a user certificate; cert-authority
                  lines in allowed_signers trust certificates by their CA

Not yet: -Y sign -U (a key in ssh-agent), -B -D -K -M.
Exit status: 0 success, 1 usage errors (and "not found" for -F, a revoked key for -Q), 255 failures.
`;

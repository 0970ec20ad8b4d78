// What `nacre-keygen` prints for bad flags (ssh-keygen's wording: the
// message, then "usage:" on stderr, exit 1) and for --help (what is
// supported today, on stdout, exit 0).

export const KEYGEN_USAGE = `usage: nacre-keygen [-q] [-b bits] [-C comment] [-f output_keyfile]
                    [-N new_passphrase] [-t ecdsa | ed25519 | rsa]
       nacre-keygen -y [-P passphrase] [-f input_keyfile]
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
`;

export const KEYGEN_HELP = `nacre-keygen: OpenSSH key tool, taking ssh-keygen(1)'s flags.

${KEYGEN_USAGE}
Supported now:
  generate        -t ed25519|ecdsa|rsa -b bits -C comment -N passphrase -f file -q
                  (writing the private key waits for Nacre's OpenSSH key writer)
  public key      -y [-P passphrase] -f key
  fingerprint     -l [-E sha256] -f file  (keys, .pub, authorized_keys, known_hosts)
  known_hosts     -F host [-l] [-H], -R host, -H  (with -f file; default ~/.ssh/known_hosts)
  signatures      -Y sign | verify | find-principals | check-novalidate | match-principals
                  -O hashalg=sha256|sha512, -O verify-time=YYYYMMDD[HHMM[SS]][Z], -O print-pubkey
                  usable as git's gpg.ssh.program

Not yet: -E md5, -v randomart, -U (ssh-agent), certificates (-s -I -L), -p -c,
-e -i -m, KRLs (-k -Q), -A -B -D -K -M -r.
Exit status: 0 success, 1 usage errors (and "not found" for -F), 255 failures.
`;

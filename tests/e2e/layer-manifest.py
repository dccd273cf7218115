#!/usr/bin/env python3
"""Print a canonical manifest of a tree for comparisons in the layer tests:
one line per entry with type, mode, owner, size, content hash, symlink target,
device numbers, xattrs (overlay's excluded) and hardlink group; sparse files
are flagged when they occupy less than their size. mtimes of non-directories
are included with --mtime."""
import hashlib, os, stat, sys

def main():
    root = sys.argv[1]
    with_mtime = '--mtime' in sys.argv
    links = {}
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            m = st.st_mode
            extra = ''
            if stat.S_ISREG(m):
                h = hashlib.sha256(open(p, 'rb').read()).hexdigest()[:16]
                extra = 'size=%d sha=%s' % (st.st_size, h)
                if st.st_size > 1 << 20 and st.st_blocks * 512 < st.st_size // 2:
                    extra += ' sparse'
                if st.st_nlink > 1:
                    key = (st.st_dev, st.st_ino)
                    links.setdefault(key, rel)
                    extra += ' link=%s' % links[key]
            elif stat.S_ISLNK(m):
                extra = '-> ' + os.readlink(p)
            elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
                extra = 'dev=%d,%d' % (os.major(st.st_rdev), os.minor(st.st_rdev))
            xa = []
            if not stat.S_ISLNK(m):
                for x in sorted(os.listxattr(p, follow_symlinks=False)):
                    if x.startswith('trusted.overlay.') or x.startswith('user.overlay.'):
                        continue
                    xa.append('%s=%s' % (x, os.getxattr(p, x, follow_symlinks=False).hex()))
            mt = ' mtime=%d' % int(st.st_mtime) if with_mtime and not stat.S_ISDIR(m) else ''
            out.append('%s %o %d:%d %s [%s]%s' % (rel, m, st.st_uid, st.st_gid, extra, ' '.join(xa), mt))
    print('\n'.join(out))

main()

//! Who is asking: the peer credentials of a Unix socket (SO_PEERCRED) and
//! the user names and groups they stand for.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// The process at the other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// The kernel's credentials of the process that connected `stream`.
pub fn peer_credentials(stream: &UnixStream) -> std::io::Result<Peer> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: SO_PEERCRED writes one ucred of `len` bytes into `cred`.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Peer {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

impl Peer {
    /// The peer's user name, from the password database.
    pub fn user_name(&self) -> Option<String> {
        let mut buf = vec![0 as libc::c_char; 4096];
        // SAFETY: a zeroed passwd is a valid out-parameter.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result = std::ptr::null_mut();
        // SAFETY: getpwuid_r writes into `pwd` and `buf` (of the length given).
        let rc = unsafe {
            libc::getpwuid_r(self.uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result)
        };
        if rc != 0 || result.is_null() {
            return None;
        }
        // SAFETY: on success pw_name points at a NUL-terminated string in `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        name.to_str().ok().map(str::to_string)
    }

    /// Whether the peer belongs to `group` (primary or supplementary).
    pub fn in_group(&self, group: &str) -> bool {
        let Ok(groups) = std::fs::read_to_string("/etc/group") else {
            return false;
        };
        let me = self.user_name();
        groups.lines().any(|line| {
            let f: Vec<&str> = line.split(':').collect();
            f.len() >= 4
                && f[0] == group
                && (f[2].parse::<u32>() == Ok(self.gid)
                    || me
                        .as_deref()
                        .is_some_and(|m| f[3].split(',').any(|u| u == m)))
        })
    }

    /// Whether the peer may ask about `user`: root and members of
    /// `admin_group` for anyone, everyone else only for themselves.
    pub fn may_ask_for(&self, user: &str, admin_group: &str) -> bool {
        self.uid == 0
            || self.user_name().as_deref() == Some(user)
            || (!admin_group.is_empty() && self.in_group(admin_group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_pair_reports_this_process() {
        let (a, _b) = UnixStream::pair().unwrap();
        let p = peer_credentials(&a).unwrap();
        assert_eq!(p.pid as u32, std::process::id());
        // SAFETY: getuid has no preconditions.
        assert_eq!(p.uid, unsafe { libc::getuid() });
    }

    #[test]
    fn users_may_ask_only_for_themselves() {
        let nobody = Peer {
            pid: 1,
            uid: 65534,
            gid: 65534,
        };
        assert!(!nobody.may_ask_for("root", "siamedge-none-such"));
        assert!(nobody.may_ask_for("nobody", ""), "{:?}", nobody.user_name());
        let root = Peer {
            pid: 1,
            uid: 0,
            gid: 0,
        };
        assert!(root.may_ask_for("alice", ""));
    }
}

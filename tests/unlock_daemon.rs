//! Face unlock end to end with the real models on replayed frames: enrolment
//! (and its refusal of several faces), `verify --json`, the daemon over its
//! socket (accepted, rejected, not enrolled, dark frames skipped and counted,
//! a peer asking for another user refused, lockout after 5 failures), and
//! galleries that survive `enrol` killed at random points and a full disk.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use siamedge::face::gallery::Gallery;

/// A temporary device: configuration with liveness off (speed), gallery, state, socket.
struct Device {
    dir: tempfile::TempDir,
}

impl Device {
    fn new(extra_unlock: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let config = format!(
            "variant = \"fp32\"\nthreads = 1\nmodels = \"{}\"\n[camera]\ndevice = \"/dev/video-none-such\"\nformat = \"MJPG\"\nwidth = 640\nheight = 480\n[gpio]\nchip = \"/dev/gpiochip-none-such\"\nrelay-line = 17\nled-line = 27\n[unlock]\ngallery = \"{}\"\nstate = \"{}\"\nsocket = \"{}\"\naudit-log = \"{}\"\nliveness = \"off\"\ntimeout-ms = 1500\n{extra_unlock}",
            common::models().display(),
            d.join("faces").display(),
            d.join("state").display(),
            d.join("run/unlock.sock").display(),
            d.join("log/audit.jsonl").display(),
        );
        fs::write(d.join("siamedge.toml"), config).unwrap();
        Device { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn siamedge(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_siamedge"))
            .args(args)
            .env("SIAMEDGE_CONFIG", self.path("siamedge.toml"))
            .env_remove("SIAMEDGE_MODELS")
            .output()
            .unwrap()
    }

    fn enrol(&self, user: &str, photos: &[&str]) {
        let frames = photos.len().to_string();
        let mut args = vec!["enrol", user, "--frames", &frames, "--source"];
        let paths: Vec<String> = photos
            .iter()
            .map(|p| common::sample(p).display().to_string())
            .collect();
        args.extend(paths.iter().map(String::as_str));
        let out = self.siamedge(&args);
        assert!(
            out.status.success(),
            "enrol {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the daemon on a looped replay of `frames`; waits for its socket.
    fn daemon(&self, frames: &[PathBuf]) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_siamedge"));
        cmd.args(["unlock", "--no-gpio", "--source"])
            .args(frames)
            .env("SIAMEDGE_CONFIG", self.path("siamedge.toml"))
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        let socket = self.path("run/unlock.sock");
        let deadline = Instant::now() + Duration::from_secs(30);
        while UnixStream::connect(&socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "the daemon did not listen on {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Daemon { child, socket }
    }
}

struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    fn ask(&self, request: &str) -> Value {
        let mut s = UnixStream::connect(&self.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        writeln!(s, "{request}").unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    fn authenticate(&self, user: &str) -> Value {
        self.ask(&format!(
            r#"{{"op":"authenticate","user":"{user}","timeout_ms":1500}}"#
        ))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: sends SIGTERM to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// A 640x480 nearly black PNG: a frame from a dark room.
fn dark_frame(dir: &Path) -> PathBuf {
    let p = dir.join("dark.png");
    let mut png = Vec::new();
    let mut enc = png::Encoder::new(&mut png, 640, 480);
    enc.set_color(png::ColorType::Rgb);
    enc.write_header()
        .unwrap()
        .write_image_data(&vec![8u8; 640 * 480 * 3])
        .unwrap();
    fs::write(&p, png).unwrap();
    p
}

#[test]
fn enrol_verify_and_a_frame_with_two_faces_is_refused() {
    let dev = Device::new("");
    dev.enrol("obama", &["obama.jpg", "obama3.jpg"]);
    let out = dev.siamedge(&[
        "verify",
        "obama",
        "--json",
        "--source",
        common::sample("obama2.jpg").to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in ["user", "accepted", "score", "threshold", "frames", "ms"] {
        assert!(!v[field].is_null(), "{field}: {v}");
    }
    for field in [
        "used",
        "skipped_dark",
        "skipped_no_face",
        "skipped_several_faces",
        "spoof",
    ] {
        assert!(v["frames"][field].is_u64(), "frames.{field}: {v}");
    }
    assert_eq!(v["accepted"], true, "{v}");
    assert!(out.status.success());
    let out = dev.siamedge(&[
        "verify",
        "obama",
        "--json",
        "--source",
        common::sample("biden.jpg").to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["accepted"], false, "{v}");
    assert_eq!(out.status.code(), Some(1));

    let a = siamedge::image::load(&common::sample("obama.jpg")).unwrap();
    let b = siamedge::image::load(&common::sample("biden.jpg")).unwrap();
    let (w, h) = (a.width + b.width, a.height.max(b.height));
    let mut both = vec![255u8; w * h * 3];
    for (img, x0) in [(&a, 0), (&b, a.width)] {
        for y in 0..img.height {
            let row = &img.data[y * img.width * 3..(y + 1) * img.width * 3];
            both[(y * w + x0) * 3..(y * w + x0 + img.width) * 3].copy_from_slice(row);
        }
    }
    let group = dev.path("group.png");
    let mut png = Vec::new();
    let mut enc = png::Encoder::new(&mut png, w as u32, h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.write_header().unwrap().write_image_data(&both).unwrap();
    fs::write(&group, png).unwrap();
    let out = dev.siamedge(&[
        "enrol",
        "alice",
        "--frames",
        "1",
        "--source",
        group.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("several faces"),
        "{stderr}"
    );
    assert!(
        Gallery::open(&dev.path("faces"))
            .unwrap()
            .load("alice")
            .unwrap()
            .is_none(),
        "nothing enrolled"
    );
    let list = dev.siamedge(&["list", "--json"]);
    let l: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(l[0]["user"], "obama");
    assert_eq!(l[0]["faces"].as_array().unwrap().len(), 2);
}

#[test]
fn the_daemon_accepts_rejects_skips_dark_frames_and_checks_who_asks() {
    let dev = Device::new("");
    let snapshots = dev.path("snapshots");
    let mut config = fs::read_to_string(dev.path("siamedge.toml")).unwrap();
    config.push_str(&format!("snapshots = \"{}\"\n", snapshots.display()));
    fs::write(dev.path("siamedge.toml"), config).unwrap();
    dev.enrol("obama", &["obama.jpg", "obama3.jpg"]);
    dev.enrol("biden", &["biden.jpg"]);
    let dark = dark_frame(dev.dir.path());
    let daemon = dev.daemon(&[dark, common::sample("obama2.jpg")]);

    let status = daemon.ask(r#"{"op":"status"}"#);
    assert_eq!(status["result"], "ok", "{status}");
    let source = status["status"]["threshold_source"].as_str().unwrap();
    assert!(source.contains("attempt threshold"), "{status}");

    let r = daemon.authenticate("obama");
    assert_eq!(r["result"], "accepted", "{r}");
    assert!(
        r["frames"]["skipped_dark"].as_u64().unwrap() >= 1,
        "the dark frame is skipped and counted: {r}"
    );
    assert!(r["score"].as_f64().unwrap() >= r["threshold"].as_f64().unwrap());

    let r = daemon.authenticate("biden");
    assert_eq!(
        r["result"], "rejected",
        "obama is in front of the camera: {r}"
    );
    let kept: Vec<_> = fs::read_dir(&snapshots)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "one snapshot of the rejected attempt: {kept:?}"
    );
    assert!(
        kept[0].to_string_lossy().ends_with("-biden.jpg"),
        "{kept:?}"
    );
    assert_eq!(
        fs::metadata(&kept[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let r = daemon.authenticate("nobody-enrolled");
    assert_eq!(r["result"], "unavailable", "{r}");
    let r = daemon.ask(r#"{"op":"enrolled","user":"obama"}"#);
    assert_eq!(r["enrolled"], true, "{r}");
    let r = daemon.ask(r#"{"op":"authenticate","user":"../../etc/passwd","timeout_ms":100}"#);
    assert_eq!(r["result"], "invalid", "{r}");
    let r = daemon.ask("this is not json");
    assert_eq!(r["result"], "invalid", "{r}");

    let audit = fs::read_to_string(dev.path("log/audit.jsonl")).unwrap();
    assert!(audit.lines().count() >= 6, "{audit}");
    assert!(audit
        .lines()
        .all(|l| serde_json::from_str::<Value>(l).is_ok()));

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: asking as another user needs root to switch to uid 65534");
        return;
    }
    let script = format!(
        "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect({:?})\ns.sendall(b'{{\"op\":\"authenticate\",\"user\":\"obama\",\"timeout_ms\":500}}\\n')\nprint(s.makefile().readline())",
        daemon.socket.display().to_string()
    );
    let out = std::os::unix::process::CommandExt::uid(&mut Command::new("python3"), 65534)
        .args(["-c", &script])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(r["result"], "denied", "uid 65534 asking for obama: {r}");
}

#[test]
fn five_failures_lock_a_user_out_across_a_restart() {
    let dev = Device::new("lockout-ms = 60000\n");
    dev.enrol("biden", &["biden.jpg"]);
    let frames = [common::sample("obama2.jpg")];
    {
        let daemon = dev.daemon(&frames);
        for i in 0..5 {
            let r = daemon.authenticate("biden");
            assert_eq!(r["result"], "rejected", "attempt {i}: {r}");
        }
        let r = daemon.authenticate("biden");
        assert_eq!(r["result"], "locked-out", "{r}");
        assert!(r["retry_after_ms"].as_u64().unwrap() > 50_000, "{r}");
    }
    let daemon = dev.daemon(&frames);
    let r = daemon.authenticate("biden");
    assert_eq!(
        r["result"], "locked-out",
        "the count survives a restart: {r}"
    );
}

#[test]
fn enrol_killed_at_random_points_leaves_an_old_or_new_gallery() {
    let dev = Device::new("");
    let t = Instant::now();
    dev.enrol("obama", &["obama.jpg"]);
    let whole = t.elapsed();
    let gallery = Gallery::open(&dev.path("faces")).unwrap();
    let mut sizes = std::collections::BTreeSet::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let photo = common::sample("obama3.jpg");
    for run in 0..100 {
        let before = gallery.load("obama").unwrap().map_or(0, |g| g.faces.len());
        let mut child = Command::new(env!("CARGO_BIN_EXE_siamedge"))
            .args([
                "enrol",
                "obama",
                "--frames",
                "1",
                "--source",
                photo.to_str().unwrap(),
            ])
            .env("SIAMEDGE_CONFIG", dev.path("siamedge.toml"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Every tenth run is left to finish, so that the gallery keeps growing
        // whatever the load of the machine; the others die anywhere in 0-2x
        // the time a whole enrolment took.
        if run % 10 != 9 {
            std::thread::sleep(whole.mul_f64((seed % 1000) as f64 / 500.0));
            let _ = child.kill();
        }
        let _ = child.wait();
        let after = gallery
            .load("obama")
            .unwrap_or_else(|e| panic!("run {run}: the gallery does not parse: {e}"))
            .expect("the gallery never disappears")
            .faces
            .len();
        assert!(
            after == before || after == before + 1,
            "run {run}: {before} -> {after} faces"
        );
        sizes.insert(after);
        if after >= 60 {
            dev.siamedge(&["remove", "obama", "--all"]);
            dev.enrol("obama", &["obama.jpg"]);
        }
    }
    assert!(
        sizes.len() > 1,
        "some runs got as far as writing: {sizes:?}"
    );
}

/// Runs `script` in a new user and mount namespace (`unshare -rm`), where it
/// may mount a small tmpfs; `None` when this machine does not allow that.
fn in_mount_namespace(script: &str) -> Option<Output> {
    let probe = Command::new("unshare").args(["-rm", "true"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return None;
    }
    Some(
        Command::new("unshare")
            .args(["-rm", "sh", "-c", script])
            .output()
            .unwrap(),
    )
}

#[test]
fn enrol_on_a_full_disk_keeps_the_gallery_and_says_why() {
    let dev = Device::new("");
    dev.enrol("obama", &["obama.jpg"]);
    let before = fs::read(dev.path("faces/obama.json")).unwrap();
    let full = dev.path("full");
    fs::create_dir_all(&full).unwrap();
    let script = format!(
        "set -u; mount -t tmpfs -o size=256k tmpfs '{full}' || exit 97; \
         cp -a '{faces}' '{full}/faces' || exit 98; \
         dd if=/dev/zero of='{full}/filler' bs=4k 2>/dev/null; \
         SIAMEDGE_CONFIG='{config}' '{bin}' enrol obama --label second --frames 1 \
             --gallery '{full}/faces' --source '{photo}'; echo \"exit=$?\"; \
         cat '{full}/faces/obama.json' > '{copy}'",
        full = full.display(),
        faces = dev.path("faces").display(),
        config = dev.path("siamedge.toml").display(),
        bin = env!("CARGO_BIN_EXE_siamedge"),
        photo = common::sample("obama3.jpg").display(),
        copy = dev.path("after.json").display(),
    );
    let Some(out) = in_mount_namespace(&script) else {
        eprintln!("skipped: this machine allows no user and mount namespace (unshare -rm) for a small tmpfs");
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("exit=1"),
        "enrol fails on a full disk: {stdout} {stderr}"
    );
    assert!(
        stderr.contains("No space left on device") && stderr.contains("obama"),
        "the error names the file and the cause: {stderr}"
    );
    assert_eq!(
        fs::read(dev.path("after.json")).unwrap(),
        before,
        "the gallery on the full disk is the one from before"
    );
}

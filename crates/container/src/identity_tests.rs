//! Table-driven tests of the cgroup layouts, with near misses.

use super::*;

const ID: &str = "b29d4585d87a8da043b8e4d7d687a501aab9be9700b47d9123214759121737a0";
const UID: &str = "8f0a5c3e-1b2d-4e6f-9a7b-0c1d2e3f4a5b";
const UID_: &str = "8f0a5c3e_1b2d_4e6f_9a7b_0c1d2e3f4a5b";

/// Expected (id, runtime, pod uid) of a path.
type Want = Option<(&'static str, Runtime, Option<&'static str>)>;

/// (path, expected) for every layout.
fn cases() -> Vec<(String, Want)> {
    use Runtime::*;
    let full = |id: &'static str, rt| Some((id, rt, None));
    vec![
        // docker
        (format!("/docker/{ID}"), full(ID, Docker)),
        (format!("/system.slice/docker-{ID}.scope"), full(ID, Docker)),
        (format!("/docker/{ID}/init.scope"), full(ID, Docker)),
        ("/docker/buildkit/abc".into(), None),
        (format!("/docker/{}", &ID[..63]), None),
        (format!("/system.slice/docker-{}x.scope", &ID[..63]), None),
        ("/system.slice/docker.service".into(), None),
        // containerd / CRI, cgroupfs and systemd drivers
        (
            format!("/kubepods/besteffort/pod{UID}/{ID}"),
            Some((ID, Cri, Some(UID))),
        ),
        (format!("/kubepods/pod{UID}/{ID}"), Some((ID, Cri, Some(UID)))),
        (
            format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/cri-containerd-{ID}.scope"
            ),
            Some((ID, Containerd, Some(UID))),
        ),
        (
            format!("/kubepods.slice/kubepods-pod{UID_}.slice/docker-{ID}.scope"),
            Some((ID, Docker, Some(UID))),
        ),
        (format!("/kubepods/besteffort/pod{UID}"), None),
        ("/kubepods.slice/kubepods-besteffort.slice".into(), None),
        ("/system.slice/containerd.service".into(), None),
        // CRI-O
        (format!("/machine.slice/crio-{ID}.scope"), full(ID, CriO)),
        (
            format!("/kubepods.slice/kubepods-pod{UID_}.slice/crio-{ID}.scope"),
            Some((ID, CriO, Some(UID))),
        ),
        (format!("/crio/{ID}"), full(ID, CriO)),
        (format!("/kubepods.slice/crio-conmon-{ID}.scope"), None),
        // podman / libpod
        (format!("/libpod_parent/libpod-{ID}"), full(ID, Podman)),
        (format!("/libpod_parent/libpod-{ID}/ctr"), full(ID, Podman)),
        (format!("/machine.slice/libpod-{ID}.scope"), full(ID, Podman)),
        (
            format!("/machine.slice/libpod-{ID}.scope/container"),
            full(ID, Podman),
        ),
        (
            format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"),
            full(ID, Podman),
        ),
        (format!("/machine.slice/libpod-conmon-{ID}.scope"), None),
        ("/libpod_parent".into(), None),
        // LXC
        ("/lxc/web".into(), full("web", Lxc)),
        ("/lxc/web/sub".into(), full("web", Lxc)),
        ("/lxc.payload/web".into(), full("web", Lxc)),
        ("/lxc.payload.web".into(), full("web", Lxc)),
        ("/lxc.monitor.web".into(), None),
        ("/lxc".into(), None),
        // systemd-nspawn and libvirt
        ("/machine.slice/machine-deb12.scope".into(), full("deb12", Nspawn)),
        (
            "/machine.slice/machine-my\\x2dbox.scope".into(),
            full("my-box", Nspawn),
        ),
        (
            "/machine.slice/machine-lxc\\x2d1234\\x2dweb.scope".into(),
            full("1234-web", LibvirtLxc),
        ),
        ("/machine.slice/machine-qemu\\x2d1\\x2dvm.scope".into(), None),
        ("/machine.slice".into(), None),
        ("/system.slice/machine-deb12.scope".into(), None),
        // plain runc / crun
        ("/ctr1".into(), full("ctr1", Runc)),
        (format!("/{ID}"), full(ID, Runc)),
        (format!("/mygroup/sub/{ID}"), full(ID, Runc)),
        ("/default/abc".into(), None),
        // host
        ("/".into(), None),
        ("".into(), None),
        ("/user.slice".into(), None),
        ("/user.slice/user-0.slice/session-3.scope".into(), None),
        ("/init.scope".into(), None),
        ("/system.slice/ssh.service".into(), None),
        ("/process_api/ee0b2751946f2b4c9250f0b92c81a246".into(), None),
        ("/docker".into(), None),
        ("/kubepods".into(), None),
        ("/.hidden".into(), None),
        ("/a b".into(), None),
    ]
}

#[test]
fn every_layout() {
    for (path, want) in cases() {
        let got = identify_path(&path);
        let got = got
            .as_ref()
            .map(|i| (i.id.as_str(), i.runtime, i.pod_uid.as_deref()));
        assert_eq!(got, want, "{path}");
    }
}

#[test]
fn short_ids() {
    let i = identify_path(&format!("/docker/{ID}")).unwrap();
    assert_eq!(i.short_id(), &ID[..12]);
    assert_eq!(identify_path("/lxc/web").unwrap().short_id(), "web");
    assert_eq!(short_id("abc"), "abc");
}

#[test]
fn cgroups_parameter_v1_v2_hybrid() {
    // hybrid, as the probe and the /proc scan write it on this kind of host
    let hybrid = format!(
        "cpuset=/\0cpu=/libpod_parent/libpod-{ID}\0memory=/libpod_parent/libpod-{ID}\0hugetlb=/\0"
    );
    let i = identify_cgroups(hybrid.as_bytes()).unwrap();
    assert_eq!((i.id.as_str(), i.runtime), (ID, Runtime::Podman));
    assert_eq!(container_id(hybrid.as_bytes()), &ID[..12]);
    // v2: every controller carries the unified path
    let v2 =
        format!("cpuset=/system.slice/docker-{ID}.scope\0cpu=/system.slice/docker-{ID}.scope\0");
    assert_eq!(
        identify_cgroups(v2.as_bytes()).unwrap().runtime,
        Runtime::Docker
    );
    // named v1 hierarchies (name=systemd=/path)
    let named = format!("name=systemd=/docker/{ID}\0");
    assert_eq!(identify_cgroups(named.as_bytes()).unwrap().id, ID);
    // host
    let host = b"cpu=/\0memory=/process_api/ee0b2751946f2b4c9250f0b92c81a246\0";
    assert_eq!(identify_cgroups(host), None);
    assert_eq!(container_id(host), HOST);
    assert_eq!(identify_cgroups(b""), None);
    assert_eq!(identify_cgroups(b"garbage\0\xff\xfe=/\0=\0=/\xff\0"), None);
}

#[test]
fn runtime_match_beats_runc_guess() {
    let cg = format!("cpu=/ctr1\0memory=/docker/{ID}\0");
    assert_eq!(
        identify_cgroups(cg.as_bytes()).unwrap().runtime,
        Runtime::Docker
    );
    let cg = "cpu=/ctr1\0memory=/\0";
    assert_eq!(
        identify_cgroups(cg.as_bytes()).unwrap().runtime,
        Runtime::Runc
    );
}

#[test]
fn proc_cgroup_lines() {
    let v1 = format!(
        "12:pids:/libpod_parent/libpod-{ID}\n4:memory:/libpod_parent/libpod-{ID}\n1:name=systemd:/\n0::/\n"
    );
    let i = identify_proc_cgroup(v1.as_bytes()).unwrap();
    assert_eq!((i.id.as_str(), i.runtime), (ID, Runtime::Podman));
    let v2 = format!("0::/system.slice/crio-{ID}.scope\n");
    assert_eq!(
        identify_proc_cgroup(v2.as_bytes()).unwrap().runtime,
        Runtime::CriO
    );
    let crun = "9:name=systemd:/\n4:memory:/ctr1\n1:cpu:/ctr1\n0::/\n";
    assert_eq!(identify_proc_cgroup(crun.as_bytes()).unwrap().id, "ctr1");
    let host = "9:name=systemd:/\n4:memory:/process_api/ee0b2751946f2b4c9250f0b92c81a246\n0::/\n";
    assert_eq!(identify_proc_cgroup(host.as_bytes()), None);
    assert_eq!(identify_proc_cgroup(b"\xff:\xff\n::\n"), None);
}

#[test]
fn type_names_and_numbers() {
    assert_eq!(Runtime::Podman.as_str(), "podman");
    assert_eq!(Runtime::Podman.sysdig_type(), 11);
    assert_eq!(Runtime::Docker.sysdig_type(), 0);
    assert_eq!(Runtime::CriO.to_string(), "cri-o");
}

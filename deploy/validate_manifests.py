#!/usr/bin/env python3
"""Offline structural checks of chatkpi's deployment files (deploy/validate.sh).

Not a replacement for the Kubernetes API server's schema (no such schema is
available offline here): it checks what a typo or a half-done edit usually
breaks, and the cross-references between the files.

  validate_manifests.py k8s DIR            Kubernetes manifests + kustomization
  validate_manifests.py compose FILE       docker-compose.yml structure
  validate_manifests.py rules FILE DIR     deploy/rules.json vs the rules ConfigMap

Prints one line per problem ("FILE: where: what") and exits 1 if any.
Needs PyYAML (Debian: python3-yaml).
"""
import json
import os
import re
import sys

import yaml

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping key given twice (PyYAML keeps the last)."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor`: keys given here may override merged ones
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_all(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [d for d in yaml.load_all(f, Loader=UniqueKeyLoader) if d is not None]
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as e:
        err(path, f"not valid YAML: {e}")
        return []


# --- Kubernetes ------------------------------------------------------------

API_VERSIONS = {
    "Namespace": "v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1",
    "ServiceAccount": "v1", "PersistentVolumeClaim": "v1",
    "StatefulSet": "apps/v1", "Deployment": "apps/v1",
    "PodDisruptionBudget": "policy/v1", "Job": "batch/v1", "CronJob": "batch/v1",
    "NetworkPolicy": "networking.k8s.io/v1", "Ingress": "networking.k8s.io/v1",
}
CLUSTER_SCOPED = {"Namespace"}
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
PROBE_HANDLERS = ("httpGet", "tcpSocket", "exec", "grpc")


def typed(where, obj, key, types, required=True):
    v = obj.get(key) if isinstance(obj, dict) else None
    if v is None:
        if required:
            err(where, f"missing '{key}'")
        return None
    if not isinstance(v, types):
        names = "/".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        err(where, f"'{key}' must be {names}, not {type(v).__name__}")
        return None
    return v


def check_labels(where, labels):
    if labels is None:
        return
    if not isinstance(labels, dict):
        err(where, "labels must be a mapping")
        return
    for k, v in labels.items():
        if not isinstance(v, str):
            err(where, f"label {k!r} must be a string (quote it), not {type(v).__name__}")
        elif len(v) > 63 or not re.match(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", v):
            err(where, f"label {k!r} has an invalid value {v!r}")


class Cluster:
    """Everything the manifests declare, for cross-references."""

    def __init__(self):
        self.objects = {}  # (kind, name) -> (file, doc)

    def add(self, path, doc):
        key = (doc["kind"], doc["metadata"]["name"])
        if key in self.objects:
            err(path, f"{key[0]} '{key[1]}' also defined in {self.objects[key][0]}")
        self.objects[key] = (path, doc)

    def get(self, kind, name):
        o = self.objects.get((kind, name))
        return o[1] if o else None

    def of_kind(self, kind):
        return [(n, f, d) for (k, n), (f, d) in self.objects.items() if k == kind]


def configmap_keys(doc):
    return set((doc.get("data") or {}).keys()) | set((doc.get("binaryData") or {}).keys())


def secret_keys(doc):
    return set((doc.get("data") or {}).keys()) | set((doc.get("stringData") or {}).keys())


def check_probe(where, probe, port_names):
    if not isinstance(probe, dict):
        err(where, "must be a mapping")
        return
    handlers = [h for h in PROBE_HANDLERS if h in probe]
    if len(handlers) != 1:
        err(where, f"needs exactly one of {', '.join(PROBE_HANDLERS)}")
        return
    h = probe[handlers[0]]
    if handlers[0] in ("httpGet", "tcpSocket"):
        port = h.get("port") if isinstance(h, dict) else None
        if port is None:
            err(where, f"{handlers[0]} needs 'port'")
        elif isinstance(port, str) and port not in port_names:
            err(where, f"port '{port}' is not a named port of the container")
        elif isinstance(port, int) and not 0 < port < 65536:
            err(where, f"port {port} out of range")
        if handlers[0] == "httpGet" and not str(h.get("path", "/")).startswith("/"):
            err(where, "httpGet path must start with '/'")
    for k in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds",
              "failureThreshold", "successThreshold"):
        if k in probe and (not isinstance(probe[k], int) or probe[k] < 0):
            err(where, f"'{k}' must be a non-negative integer")


def check_resources(where, res):
    if res is None:
        return
    for part in ("requests", "limits"):
        for k, v in (res.get(part) or {}).items():
            if not QUANTITY.match(str(v)):
                err(where, f"{part}.{k} '{v}' is not a quantity")


def check_pod_spec(where, spec, cluster, namespace, claim_names=()):
    if not isinstance(spec, dict):
        err(where, "pod spec must be a mapping")
        return set()
    volumes = {}
    for i, v in enumerate(spec.get("volumes") or []):
        vw = f"{where}.volumes[{i}]"
        name = typed(vw, v, "name", str)
        if name is None:
            continue
        if name in volumes or name in claim_names:
            err(vw, f"volume '{name}' declared twice")
        volumes[name] = v
        sources = [k for k in v if k != "name"]
        if len(sources) != 1:
            err(vw, f"volume '{name}' needs exactly one source, has {sources}")
        if "configMap" in v:
            cm_name = v["configMap"].get("name")
            cm = cluster.get("ConfigMap", cm_name)
            if cm is None and not v["configMap"].get("optional"):
                err(vw, f"ConfigMap '{cm_name}' is not defined in the manifests")
            for it in v["configMap"].get("items") or []:
                if cm is not None and it.get("key") not in configmap_keys(cm):
                    err(vw, f"ConfigMap '{cm_name}' has no key '{it.get('key')}'")
        if "secret" in v:
            s_name = v["secret"].get("secretName")
            s = cluster.get("Secret", s_name)
            if s is None and not v["secret"].get("optional"):
                err(vw, f"Secret '{s_name}' is not defined in the manifests")
            for it in v["secret"].get("items") or []:
                if s is not None and it.get("key") not in secret_keys(s):
                    err(vw, f"Secret '{s_name}' has no key '{it.get('key')}'")
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"].get("claimName")
            if cluster.get("PersistentVolumeClaim", claim) is None:
                err(vw, f"PersistentVolumeClaim '{claim}' is not defined in the manifests")
    mountable = set(volumes) | set(claim_names)
    used = set()
    containers = typed(where, spec, "containers", list)
    if not containers:
        if containers is not None:
            err(where, "'containers' is empty")
        return set()
    ports_all = set()
    names = set()
    for ci, c in enumerate(containers + (spec.get("initContainers") or [])):
        cw = f"{where}.containers[{ci}]"
        if not isinstance(c, dict):
            err(cw, "must be a mapping")
            continue
        name = typed(cw, c, "name", str)
        if name is not None:
            cw = f"{where}.containers[{name}]"
            if not DNS1123_LABEL.match(name):
                err(cw, "name is not a DNS-1123 label")
            if name in names:
                err(cw, "container name used twice")
            names.add(name)
        typed(cw, c, "image", str)
        for key in ("command", "args"):
            seq = c.get(key)
            if seq is not None and (not isinstance(seq, list)
                                    or not all(isinstance(a, str) for a in seq)):
                err(cw, f"'{key}' must be a list of strings (quote numbers)")
        # $(VAR) in command/args must be defined by env or envFrom.
        env_names = set()
        for ei, e in enumerate(c.get("env") or []):
            ew = f"{cw}.env[{ei}]"
            n = typed(ew, e, "name", str)
            if n is None:
                continue
            if not ENV_NAME.match(n):
                err(ew, f"invalid variable name '{n}'")
            env_names.add(n)
            if "value" in e and not isinstance(e["value"], str):
                err(ew, f"value of '{n}' must be a string (quote it)")
            ref = (e.get("valueFrom") or {})
            if "configMapKeyRef" in ref:
                r = ref["configMapKeyRef"]
                cm = cluster.get("ConfigMap", r.get("name"))
                if cm is None and not r.get("optional"):
                    err(ew, f"ConfigMap '{r.get('name')}' is not defined")
                elif cm is not None and r.get("key") not in configmap_keys(cm):
                    err(ew, f"ConfigMap '{r.get('name')}' has no key '{r.get('key')}'")
            if "secretKeyRef" in ref:
                r = ref["secretKeyRef"]
                s = cluster.get("Secret", r.get("name"))
                if s is None and not r.get("optional"):
                    err(ew, f"Secret '{r.get('name')}' is not defined")
                elif s is not None and r.get("key") not in secret_keys(s):
                    err(ew, f"Secret '{r.get('name')}' has no key '{r.get('key')}'")
        for fi, src in enumerate(c.get("envFrom") or []):
            fw = f"{cw}.envFrom[{fi}]"
            prefix = src.get("prefix", "")
            if "configMapRef" in src:
                cm = cluster.get("ConfigMap", src["configMapRef"].get("name"))
                if cm is None:
                    if not src["configMapRef"].get("optional"):
                        err(fw, f"ConfigMap '{src['configMapRef'].get('name')}' is not defined")
                else:
                    for k in configmap_keys(cm):
                        if ENV_NAME.match(prefix + k):
                            env_names.add(prefix + k)
            elif "secretRef" in src:
                s = cluster.get("Secret", src["secretRef"].get("name"))
                if s is None:
                    if not src["secretRef"].get("optional"):
                        err(fw, f"Secret '{src['secretRef'].get('name')}' is not defined")
                else:
                    env_names |= {prefix + k for k in secret_keys(s)}
            else:
                err(fw, "needs configMapRef or secretRef")
        for key in ("command", "args"):
            for a in c.get(key) or []:
                for var in VAR_REF.findall(str(a)):
                    if var not in env_names:
                        err(cw, f"{key} refers to $({var}), which no env/envFrom defines "
                                "(Kubernetes would pass it through literally)")
        port_names = set()
        for pi, p in enumerate(c.get("ports") or []):
            pw = f"{cw}.ports[{pi}]"
            cp = typed(pw, p, "containerPort", int)
            if cp is not None and not 0 < cp < 65536:
                err(pw, f"containerPort {cp} out of range")
            pn = p.get("name")
            if pn is not None:
                if not isinstance(pn, str) or len(pn) > 15 or not DNS1123_LABEL.match(pn):
                    err(pw, f"port name {pn!r} must be a DNS-1123 label of at most 15 characters")
                elif pn in port_names:
                    err(pw, f"port name '{pn}' used twice")
                port_names.add(pn)
        ports_all |= port_names
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in c:
                check_probe(f"{cw}.{probe}", c[probe], port_names)
        check_resources(f"{cw}.resources", c.get("resources"))
        paths = set()
        for mi, m in enumerate(c.get("volumeMounts") or []):
            mw = f"{cw}.volumeMounts[{mi}]"
            mn = typed(mw, m, "name", str)
            mp = typed(mw, m, "mountPath", str)
            if mn is not None and mn not in mountable:
                err(mw, f"volume '{mn}' is neither a volume nor a volumeClaimTemplate")
            used.add(mn)
            if mp is not None:
                if not mp.startswith("/"):
                    err(mw, "mountPath must be absolute")
                if mp in paths:
                    err(mw, f"mountPath {mp} used twice")
                paths.add(mp)
        sc = c.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") and "/tmp" not in paths:
            print(f"note: {cw}: read-only root file system without a /tmp volume")
    for v in volumes:
        if v not in used:
            err(f"{where}.volumes", f"volume '{v}' is mounted by no container")
    for v in claim_names:
        if v not in used:
            err(f"{where}", f"volumeClaimTemplate '{v}' is mounted by no container")
    return ports_all


def check_selector(where, spec, template_labels):
    sel = typed(where, spec, "selector", dict)
    if sel is None:
        return None
    ml = sel.get("matchLabels")
    if not ml:
        err(where, "selector needs matchLabels")
        return None
    for k, v in ml.items():
        if template_labels.get(k) != v:
            err(where, f"selector {k}={v} does not match the pod template's labels "
                       "(the API server refuses this)")
    return ml


def check_workload(path, doc, cluster):
    kind, name = doc["kind"], doc["metadata"]["name"]
    where = f"{path}: {kind}/{name}"
    spec = typed(where, doc, "spec", dict)
    if spec is None:
        return
    if "replicas" in spec and (not isinstance(spec["replicas"], int) or spec["replicas"] < 0):
        err(where, "'replicas' must be a non-negative integer")
    tmpl = typed(where, spec, "template", dict)
    if tmpl is None:
        return
    labels = ((tmpl.get("metadata") or {}).get("labels")) or {}
    check_labels(f"{where}.template.metadata.labels", labels)
    check_selector(f"{where}.spec", spec, labels)
    claims = []
    if kind == "StatefulSet":
        svc_name = typed(where, spec, "serviceName", str)
        svc = cluster.get("Service", svc_name) if svc_name else None
        if svc_name and svc is None:
            err(where, f"serviceName '{svc_name}' is not a Service in the manifests")
        elif svc is not None and (svc.get("spec") or {}).get("clusterIP") != "None":
            err(where, f"serviceName '{svc_name}' should be a headless Service (clusterIP: None)")
        for i, t in enumerate(spec.get("volumeClaimTemplates") or []):
            tw = f"{where}.volumeClaimTemplates[{i}]"
            tn = (t.get("metadata") or {}).get("name")
            if not tn:
                err(tw, "missing metadata.name")
                continue
            claims.append(tn)
            ts = t.get("spec") or {}
            if not ts.get("accessModes"):
                err(tw, "missing spec.accessModes")
            storage = ((ts.get("resources") or {}).get("requests") or {}).get("storage")
            if storage is None:
                err(tw, "missing spec.resources.requests.storage")
            elif not QUANTITY.match(str(storage)):
                err(tw, f"storage '{storage}' is not a quantity")
        policy = spec.get("podManagementPolicy")
        if policy is not None and policy not in ("OrderedReady", "Parallel"):
            err(where, f"podManagementPolicy '{policy}' is not OrderedReady or Parallel")
    if kind == "Deployment":
        st = spec.get("strategy") or {}
        if st.get("type") not in (None, "RollingUpdate", "Recreate"):
            err(where, f"strategy.type '{st.get('type')}' is unknown")
    pod_spec = tmpl.get("spec")
    if kind in ("Job",):
        rp = (pod_spec or {}).get("restartPolicy")
        if rp not in ("Never", "OnFailure"):
            err(where, "a Job's pods need restartPolicy Never or OnFailure")
    check_pod_spec(f"{where}.template.spec", pod_spec, cluster,
                   doc["metadata"].get("namespace"), claims)


def pod_templates(cluster):
    """(kind, name, labels, container port names) of every workload."""
    out = []
    for kind in ("StatefulSet", "Deployment"):
        for name, _, d in cluster.of_kind(kind):
            t = ((d.get("spec") or {}).get("template") or {})
            labels = ((t.get("metadata") or {}).get("labels")) or {}
            ports = set()
            for c in ((t.get("spec") or {}).get("containers") or []):
                ports |= {p.get("name") for p in (c.get("ports") or []) if p.get("name")}
            out.append((kind, name, labels, ports))
    return out


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_service(path, doc, cluster):
    where = f"{path}: Service/{doc['metadata']['name']}"
    spec = typed(where, doc, "spec", dict)
    if spec is None:
        return
    ports = typed(where, spec, "ports", list)
    selector = spec.get("selector") or {}
    matched = [t for t in pod_templates(cluster) if selector and selects(selector, t[2])]
    if selector and not matched:
        err(where, f"selector {selector} matches no workload's pod labels")
    if ports is None:
        return
    if len(ports) > 1 and not all(p.get("name") for p in ports):
        err(where, "with several ports every port needs a name")
    for i, p in enumerate(ports):
        pw = f"{where}.ports[{i}]"
        port = typed(pw, p, "port", int)
        if port is not None and not 0 < port < 65536:
            err(pw, f"port {port} out of range")
        tp = p.get("targetPort")
        if isinstance(tp, str) and matched and not all(tp in t[3] for t in matched):
            err(pw, f"targetPort '{tp}' is not a named container port of "
                    + ", ".join(f"{t[0]}/{t[1]}" for t in matched))
        if p.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
            err(pw, f"protocol '{p.get('protocol')}' is unknown")


def check_pdb(path, doc, cluster):
    where = f"{path}: PodDisruptionBudget/{doc['metadata']['name']}"
    spec = typed(where, doc, "spec", dict)
    if spec is None:
        return
    if ("minAvailable" in spec) == ("maxUnavailable" in spec):
        err(where, "needs exactly one of minAvailable, maxUnavailable")
    ml = ((spec.get("selector") or {}).get("matchLabels")) or {}
    if not ml:
        err(where, "needs selector.matchLabels")
    elif not any(selects(ml, t[2]) for t in pod_templates(cluster)):
        err(where, f"selector {ml} matches no workload's pod labels")


def check_data_map(where, doc, field, binary=False):
    data = doc.get(field)
    if data is None:
        return
    if not isinstance(data, dict):
        err(where, f"'{field}' must be a mapping")
        return
    for k, v in data.items():
        if not isinstance(k, str) or not CONFIG_KEY.match(k):
            err(where, f"{field} key {k!r} is not a valid key")
        if not isinstance(v, str):
            err(where, f"{field}.{k} must be a string (quote it), not {type(v).__name__}")
        elif binary:
            import base64
            import binascii
            try:
                base64.b64decode(v, validate=True)
            except binascii.Error:
                err(where, f"{field}.{k} is not base64")


def check_k8s_dir(directory):
    files = sorted(f for f in os.listdir(directory)
                   if f.endswith((".yaml", ".yml")) and not f.startswith("kustomization."))
    if not files:
        err(directory, "no manifests found")
        return
    cluster = Cluster()
    docs = []
    namespaces = set()
    for f in files:
        path = os.path.join(directory, f)
        for i, doc in enumerate(load_all(path)):
            where = f"{path}: document {i + 1}"
            if not isinstance(doc, dict):
                err(where, "is not a mapping")
                continue
            api = typed(where, doc, "apiVersion", str)
            kind = typed(where, doc, "kind", str)
            meta = typed(where, doc, "metadata", dict)
            if None in (api, kind, meta):
                continue
            name = typed(where, meta, "name", str)
            if name is None:
                continue
            where = f"{path}: {kind}/{name}"
            expected = API_VERSIONS.get(kind)
            if expected is None:
                err(where, f"kind '{kind}' is not known to this checker "
                           "(add it to API_VERSIONS in deploy/validate_manifests.py)")
                continue
            if api != expected:
                err(where, f"apiVersion '{api}' should be '{expected}'")
            pattern = DNS1123_LABEL if kind in ("Service", "Namespace") else DNS1123_SUBDOMAIN
            if len(name) > 253 or not pattern.match(name):
                err(where, "metadata.name is not a valid DNS-1123 name")
            if kind == "Service" and len(name) > 63:
                err(where, "a Service name has at most 63 characters")
            ns = meta.get("namespace")
            if kind in CLUSTER_SCOPED:
                if ns is not None:
                    err(where, "a cluster-scoped object has no namespace")
                namespaces.add(name)
            check_labels(f"{where}.metadata.labels", meta.get("labels"))
            cluster.add(path, doc)
            docs.append((path, doc))
    # Namespaced objects: one namespace, and it is declared if a Namespace is.
    used_ns = {d["metadata"].get("namespace") for _, d in docs
               if d["kind"] not in CLUSTER_SCOPED}
    if len(used_ns) > 1:
        err(directory, f"objects spread over namespaces {sorted(map(str, used_ns))}")
    for ns in used_ns:
        if ns is not None and namespaces and ns not in namespaces:
            err(directory, f"namespace '{ns}' is used but not declared")
    for path, doc in docs:
        kind = doc["kind"]
        where = f"{path}: {kind}/{doc['metadata']['name']}"
        if kind == "ConfigMap":
            check_data_map(where, doc, "data")
        elif kind == "Secret":
            check_data_map(where, doc, "data", binary=True)
            check_data_map(where, doc, "stringData")
            if not secret_keys(doc):
                err(where, "holds no key")
        elif kind in ("StatefulSet", "Deployment", "Job"):
            check_workload(path, doc, cluster)
        elif kind == "Service":
            check_service(path, doc, cluster)
        elif kind == "PodDisruptionBudget":
            check_pdb(path, doc, cluster)
    check_kustomization(directory, files)
    n = len(docs)
    print(f"k8s: {n} objects in {len(files)} files checked: "
          + ", ".join(f"{d['kind']}/{d['metadata']['name']}" for _, d in docs))


NOT_A_RESOURCE = "# kustomize: not a resource"


def check_kustomization(directory, files):
    path = os.path.join(directory, "kustomization.yaml")
    if not os.path.exists(path):
        return
    docs = load_all(path)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        err(path, "must be one mapping")
        return
    k = docs[0]
    if k.get("kind") != "Kustomization":
        err(path, "kind must be Kustomization")
    resources = k.get("resources") or []
    for r in resources:
        if not os.path.exists(os.path.join(directory, r)):
            err(path, f"resource '{r}' does not exist")
    for f in files:
        with open(os.path.join(directory, f), encoding="utf-8") as fh:
            marked = fh.readline().startswith(NOT_A_RESOURCE)
        if f not in resources and not marked:
            err(path, f"'{f}' is not listed in resources (or mark its first line "
                      f"'{NOT_A_RESOURCE}')")
        if f in resources and marked:
            err(path, f"'{f}' is marked '{NOT_A_RESOURCE}' but listed in resources")


# --- docker compose --------------------------------------------------------

DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def check_compose(path):
    docs = load_all(path)
    if not docs:
        return
    if len(docs) != 1 or not isinstance(docs[0], dict):
        err(path, "must be one YAML mapping")
        return
    c = docs[0]
    base = os.path.dirname(os.path.abspath(path))
    for key in c:
        if key not in ("services", "volumes", "networks", "configs", "secrets",
                       "name", "version", "include") and not str(key).startswith("x-"):
            err(path, f"unknown top-level key '{key}'")
    services = c.get("services")
    if not isinstance(services, dict) or not services:
        err(path, "no services")
        return
    volumes = c.get("volumes") or {}
    host_ports = {}
    data_volumes = {}
    for name, s in services.items():
        where = f"{path}: services.{name}"
        if not isinstance(s, dict):
            err(where, "must be a mapping")
            continue
        if "image" not in s and "build" not in s:
            err(where, "needs 'image' or 'build'")
        b = s.get("build")
        if isinstance(b, dict):
            ctx = os.path.normpath(os.path.join(base, b.get("context", ".")))
            if not os.path.isdir(ctx):
                err(where, f"build context {ctx} does not exist")
            df = os.path.join(ctx, b.get("dockerfile", "Dockerfile"))
            if not os.path.isfile(df):
                err(where, f"Dockerfile {df} does not exist")
        deps = s.get("depends_on") or {}
        for d in (deps if isinstance(deps, list) else deps.keys()):
            if d not in services:
                err(where, f"depends_on '{d}', which is not a service")
            elif d == name:
                err(where, "depends on itself")
        if isinstance(deps, dict):
            for d, spec in deps.items():
                cond = (spec or {}).get("condition", "service_started")
                if cond not in DEPENDS_CONDITIONS:
                    err(where, f"depends_on.{d}.condition '{cond}' is unknown")
                if cond == "service_healthy" and d in services and \
                        "healthcheck" not in services[d]:
                    err(where, f"waits for '{d}' to be healthy, but '{d}' has no healthcheck")
                if cond == "service_completed_successfully" and d in services and \
                        services[d].get("restart") not in (None, "no"):
                    err(where, f"waits for '{d}' to complete, but '{d}' restarts")
        for key in ("command", "entrypoint"):
            v = s.get(key)
            if isinstance(v, list) and not all(isinstance(a, str) for a in v):
                err(where, f"'{key}' must be a list of strings")
        hc = s.get("healthcheck")
        if hc is not None:
            t = hc.get("test")
            if not (isinstance(t, str) or (isinstance(t, list) and t and t[0] in
                                           ("CMD", "CMD-SHELL", "NONE"))):
                err(where, "healthcheck.test must be a string or a list starting "
                           "with CMD, CMD-SHELL or NONE")
        for p in s.get("ports") or []:
            spec = str(p)
            parts = spec.split(":")
            if len(parts) >= 2:
                hp = ":".join(parts[:-1])
                if hp in host_ports:
                    err(where, f"host port {hp} also published by {host_ports[hp]}")
                host_ports[hp] = name
        for v in s.get("volumes") or []:
            if isinstance(v, dict):
                src, target = v.get("source"), v.get("target")
            else:
                parts = str(v).split(":")
                src, target = (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])
            if src is None:
                continue
            if src.startswith((".", "/", "~")):
                full = os.path.normpath(os.path.join(base, src))
                if src.startswith(".") and not os.path.exists(full):
                    err(where, f"bind-mount source {src} ({full}) does not exist")
            elif src not in volumes:
                err(where, f"named volume '{src}' is not declared under top-level volumes")
            elif target == "/var/lib/chatkpi":
                if src in data_volumes:
                    err(where, f"shares its store volume '{src}' with "
                               f"{data_volumes[src]}: every instance needs its own --db")
                data_volumes[src] = name
        env = s.get("environment")
        if isinstance(env, dict):
            for k, v in env.items():
                if isinstance(v, (dict, list)):
                    err(where, f"environment.{k} must be a scalar")
    n = len(services)
    print(f"compose: {n} services checked: {', '.join(services)}")


# --- rules -----------------------------------------------------------------

def check_rules(rules_path, k8s_dir):
    try:
        with open(rules_path, encoding="utf-8") as f:
            rules = json.load(f)
    except (OSError, ValueError) as e:
        err(rules_path, f"not valid JSON: {e}")
        return
    if not isinstance(rules, dict) or not rules.get("version"):
        err(rules_path, "needs a non-empty 'version'")
    found = False
    for f in sorted(os.listdir(k8s_dir)):
        if not f.endswith((".yaml", ".yml")):
            continue
        for doc in load_all(os.path.join(k8s_dir, f)):
            if not (isinstance(doc, dict) and doc.get("kind") == "ConfigMap"
                    and "rules.json" in (doc.get("data") or {})):
                continue
            found = True
            where = f"{os.path.join(k8s_dir, f)}: ConfigMap/{doc['metadata']['name']}"
            try:
                cm_rules = json.loads(doc["data"]["rules.json"])
            except ValueError as e:
                err(where, f"rules.json is not valid JSON: {e}")
                continue
            if cm_rules != rules:
                err(where, f"rules.json differs from {rules_path}")
    if not found:
        err(k8s_dir, "no ConfigMap holds rules.json")
    else:
        print(f"rules: {rules_path} and the rules ConfigMap agree "
              f"(version {rules.get('version')!r})")


def main(argv):
    if len(argv) < 3 or argv[1] not in ("k8s", "compose", "rules"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "k8s":
        check_k8s_dir(argv[2])
    elif argv[1] == "compose":
        check_compose(argv[2])
    elif len(argv) == 4:
        check_rules(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for e in errors:
        print(f"ERROR {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

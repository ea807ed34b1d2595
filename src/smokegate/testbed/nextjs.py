"""What a Next.js production build serves, imitated closely enough for checks to be honest.

A real `next build` with the App Router emits content-hashed chunks under
``/_next/static/chunks/`` (``webpack-<hash>.js``, ``main-app-<hash>.js``, numbered shared chunks,
``app/<route>/page-<hash>.js``), a ``/_next/static/<buildId>/_buildManifest.js`` and
``_ssgManifest.js``, and HTML whose ``<script>`` tags load those chunks, followed by inline
``self.__next_f.push(...)`` scripts carrying the React Server Components payload.  A request with
the ``RSC: 1`` header gets that payload alone as ``text/x-component``.  Chunks are served with
``Cache-Control: public, max-age=31536000, immutable``; source maps are not served unless
``productionBrowserSourceMaps`` is on.

The framework's versions are where a real build puts them: Next.js's client runtime sets
``window.next = {version: "<next>", appDir: true}`` (``next/dist/client/app-bootstrap.js``, its version
a literal the build inlines), and react-dom registers itself with React DevTools' hook as
``{bundleType: 0, version: "<react>", rendererPackageName: "react-dom", ...}`` in the framework chunk.
A page that creates the Supabase browser client carries its URL and anon key as the two literals of
``createBrowserClient(url, key)`` once the ``NEXT_PUBLIC_`` values are inlined.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field

CHUNK_CACHE_CONTROL = "public, max-age=31536000, immutable"
JS_CONTENT_TYPE = "application/javascript; charset=UTF-8"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _webpack_runtime() -> str:
    return (
        '!function(){"use strict";var e,t,n,r={},o={};function u(e){var t=o[e];if(void 0!==t)'
        "return t.exports;var n=o[e]={exports:{}},i=!0;try{r[e].call(n.exports,n,n.exports,u),i=!1}"
        'finally{i&&delete o[e]}return n.exports}u.m=r,u.p="/_next/",self.webpackChunk_N_E=self.'
        "webpackChunk_N_E||[]}();"
    )


# The versions of the healthy testbed's build: Next.js and the React canary it vendors for the App Router.
NEXT_VERSION = "16.5.0"
REACT_VERSION = "19.3.0-canary-89d7b2b4-20261123"


def _react_dom(version: str) -> str:
    """The end of react-dom's client bundle, minified: the renderer's DevTools registration."""
    return (
        f'var i={{bundleType:0,version:"{version}",rendererPackageName:"react-dom",currentDispatcherRef:o,'
        f'reconcilerVersion:"{version}"}};if("undefined"!=typeof __REACT_DEVTOOLS_GLOBAL_HOOK__){{var u='
        "__REACT_DEVTOOLS_GLOBAL_HOOK__;if(!u.isDisabled&&u.supportsFiber)try{l=u.inject(i),s=u}catch(e){}}"
        f't.version="{version}"'
    )


def _module_chunk(chunk_id: int, body: str) -> str:
    return (
        f"(self.webpackChunk_N_E=self.webpackChunk_N_E||[]).push([[{chunk_id}],"
        f"{{{chunk_id * 7 + 1031}:function(e,t,n){{{body}}}}}]);"
    )


@dataclass
class Build:
    """One deployment's static output: chunk files by URL path, and per-route script lists."""

    build_id: str
    public_env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    route_scripts: dict[str, list[str]] = field(default_factory=dict)

    def add(self, directory: str, stem: str, text: str) -> str:
        path = f"/_next/static/{directory}{stem}-{content_hash(text)}.js"
        self.files[path] = text
        return path

    @classmethod
    def create(cls, version: str, public_env: dict[str, str], next_version: str = NEXT_VERSION,
               react_version: str = REACT_VERSION) -> Build:
        build = cls(build_id=hashlib.sha1(version.encode()).hexdigest()[:21], public_env=public_env)
        env_literal = json.dumps(public_env, sort_keys=True)
        shared = [
            build.add("chunks/", "webpack", _webpack_runtime()),
            build.add(
                "chunks/",
                "fd9d1056",
                _module_chunk(
                    931, "var r=n(2265),o=r.__CLIENT_INTERNALS_DO_NOT_USE_OR_WARN_USERS_THEY_CANNOT_UPGRADE,l,s;"
                    "t.jsx=function(e,t){return r.createElement(e,t)};" + _react_dom(react_version)
                ),
            ),
            build.add(
                "chunks/",
                "117",
                _module_chunk(117, f"e.exports={{env:{env_literal}}}"),
            ),
            build.add(
                "chunks/",
                "main-app",
                # app-bootstrap runs as the chunk loads: a browser finds window.next.version at once.
                f'window.next={{version:"{next_version}",appDir:!0}};'
                + _module_chunk(744, 'Promise.resolve().then(function(){n(4402)("app-router")})'),
            ),
        ]
        url, key = public_env.get("NEXT_PUBLIC_SUPABASE_URL"), public_env.get("NEXT_PUBLIC_SUPABASE_ANON_KEY")
        if url and key:
            # lib/supabase/client.ts: createBrowserClient(process.env.NEXT_PUBLIC_SUPABASE_URL!, ..._ANON_KEY!)
            shared.append(build.add("chunks/", "5121", _module_chunk(
                5121, f"var r=n(8120);t.supabase=(0,r.createBrowserClient)({json.dumps(url)},{json.dumps(key)})")))
        for route, body in {
            "/": 'e.exports=function(){return"landing"}',
            "/pricing": 'e.exports=function(){return"pricing"}',
            "/sign-in": 'e.exports=function(){return"sign-in"}',
            "/dashboard": 'e.exports=function(){return"dashboard"}',
            "/_not-found": 'e.exports=function(){return"not-found"}',
        }.items():
            directory = "chunks/app/" + ("" if route == "/" else route.strip("/") + "/")
            page = build.add(directory, "page", _module_chunk(int(content_hash(route)[:4], 16) % 900 + 100, body))
            build.route_scripts[route] = [*shared, page]
        manifest = (
            "self.__BUILD_MANIFEST=function(s){return{__rewrites:{afterFiles:[],beforeFiles:[],fallback:[]},"
            '"/_error":["static/chunks/pages/_error-'
            + content_hash("error")
            + '.js"],sortedPages:["/_app","/_error"]}}(),self.__BUILD_MANIFEST_CB&&self.__BUILD_MANIFEST_CB();'
        )
        build.files[f"/_next/static/{build.build_id}/_buildManifest.js"] = manifest
        build.files[f"/_next/static/{build.build_id}/_ssgManifest.js"] = (
            "self.__SSG_MANIFEST=new Set,self.__SSG_MANIFEST_CB&&self.__SSG_MANIFEST_CB();"
        )
        return build

    def rsc_payload(self, route: str, title: str) -> str:
        scripts = self.route_scripts.get(route, self.route_scripts["/"])
        return (
            f'0:["{self.build_id}",[["children","__PAGE__",{{}}],null,null]]\n'
            f'1:I[{json.dumps(scripts[-1].removeprefix("/_next/"))},[],"default"]\n'
            f'2:{json.dumps(["$", "title", None, {"children": title}])}\n'
        )

    def document(
        self,
        route: str,
        title: str,
        body: str,
        *,
        status_hint: str = "",
        extra_head: str = "",
        extra_scripts: list[str] | None = None,
    ) -> str:
        """The HTML a Next.js App Router page sends: chunk scripts, markup, then the RSC payload."""
        scripts = list(self.route_scripts.get(route, self.route_scripts["/_not-found"]))
        scripts += extra_scripts or []
        tags = "".join(f'<script src="{src}" async=""></script>' for src in scripts[1:])
        payload = json.dumps([1, self.rsc_payload(route, title)])
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
            f'<link rel="preload" as="script" fetchPriority="low" href="{scripts[0]}"/>'
            f"{tags}{extra_head}<title>{html.escape(title)}</title>{status_hint}"
            '<link rel="icon" href="/favicon.ico" type="image/x-icon" sizes="16x16"/></head>'
            f"<body>{body}"
            f'<script src="{scripts[0]}" async=""></script>'
            "<script>(self.__next_f=self.__next_f||[]).push([0]);self.__next_f.push([2,null])</script>"
            f"<script>self.__next_f.push({payload})</script>"
            "</body></html>"
        )

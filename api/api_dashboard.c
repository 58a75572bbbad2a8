/*
 * api_dashboard.c — GET /: one self-contained page (inline CSS and one
 * script, allowed by their hashes in the page's CSP; no external asset)
 * that carries NO data (DESIGN section 8, "Browsers"): the same bytes on
 * every listener, served without a token. Its script reads the API --
 * /api/v1/objectives, then per key result /series and /check-ins, and
 * /api/v1/metrics for the units -- with the token the person enters (kept
 * in sessionStorage, sent as "Authorization: Bearer"; no cookies), or with
 * none on a loopback or unix: listener, where reads are exempt. It draws
 * per objective its score and status and per key result a card: status
 * (and the computed one while an override holds), numbers, the latest
 * check-in (author, how long ago, confidence, comment, override and its
 * end), the forecast ("34% likely to reach 1,200 by 31 Dec"), a burn-up
 * chart (v(t) over the cycle, the pace line, the target, today, a mark at
 * each check-in's time, and for a value forecast its 80% band and p50 line
 * from the series' forecast_band, laid out in C) and a "Check in" form that POSTs
 * /api/v1/key-results/{id}/check-ins with the token and redraws the card
 * from the 201. Readable on a phone (one column when narrow) and on paper.
 *
 * Why in the browser: a page that holds no data can be handed to anyone,
 * and the token decides what the person reads, exactly as for a script.
 * Invariant: the script builds every node with createElement and sets
 * every text with textContent or an attribute (never innerHTML), so a
 * title or comment holding markup shows as text.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

/* Served inline and allowed by hash (api_dashboard_csp): any change here
 * changes the Content-Security-Policy with it, computed from these bytes. */
const char api_dashboard_css[] =
    ":root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}"
    "header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}"
    "header{padding-top:1rem}h1{font-size:1.4rem;margin:.2rem 0}"
    ".muted,.meta{color:var(--muted);font-size:.85rem}"
    ".summary>span{margin-right:.6rem;white-space:nowrap}"
    "section.objective{background:#fff;border:1px solid var(--line);border-radius:8px;"
    "padding:.8rem 1rem;margin:1rem 0}"
    ".depth-1{margin-left:1.5rem!important}.depth-2{margin-left:3rem!important}"
    ".depth-3{margin-left:4.5rem!important}"
    "h2{font-size:1.15rem;margin:0 0 .2rem}h3{font-size:1rem;margin:0 0 .3rem}"
    ".krs{display:grid;grid-template-columns:repeat(auto-fill,minmax(19rem,1fr));gap:.8rem;"
    "margin-top:.6rem}"
    "article.kr{border:1px solid var(--line);border-radius:6px;padding:.6rem .7rem;"
    "border-left:4px solid var(--c)}"
    ".nums{font-size:.85rem;margin:.2rem 0}.reason{font-size:.85rem;color:#8250df}"
    ".status{display:inline-block;padding:0 .45rem;border-radius:1rem;font-size:.8rem;"
    "font-weight:600;color:#fff;background:var(--c);white-space:nowrap}"
    ".flag{display:inline-block;padding:0 .4rem;border-radius:1rem;font-size:.75rem;"
    "border:1px solid #9a6700;color:#9a6700;margin-left:.3rem}"
    ".st-on_track{--c:#1a7f37}.st-achieved{--c:#0969da}.st-at_risk{--c:#9a6700}"
    ".st-off_track{--c:#cf222e}.st-missed{--c:#82071e}.st-pending{--c:#6e7781}"
    ".st-no_data{--c:#8c959f}.st-invalid{--c:#8250df}"
    "svg.chart{width:100%;height:auto;display:block;margin-top:.3rem}"
    ".chart text{font-size:9px;fill:var(--muted)}"
    ".chart .plot{fill:#fbfcfd;stroke:var(--line)}"
    ".chart .ylabel{text-anchor:end}.chart .xlabel.end{text-anchor:end}"
    ".chart .todaylabel,.chart .empty{text-anchor:middle}"
    ".chart .target{stroke:#0969da;stroke-width:1;stroke-dasharray:6 3}"
    ".chart .ylabel.t{fill:#0969da}"
    ".chart .pace{fill:none;stroke:#8c959f;stroke-width:1.5;stroke-dasharray:3 3}"
    ".chart .today{stroke:#bf8700;stroke-width:1}"
    ".chart .value{fill:none;stroke:var(--c);stroke-width:2;stroke-linejoin:round}"
    ".chart .dot{fill:var(--c)}"
    ".legend{font-size:.8rem;color:var(--muted)}"
    ".legend i{display:inline-block;width:1.4rem;height:0;vertical-align:middle;"
    "margin:0 .3rem 0 .8rem;border-top:2px solid}"
    ".legend .l-value{border-color:#1a7f37}.legend .l-pace{border-top-style:dashed;"
    "border-color:#8c959f}.legend .l-target{border-top-style:dashed;border-color:#0969da}"
    ".legend .l-today{border-color:#bf8700}"
    "@media (max-width:40rem){body{font-size:14px}.depth-1{margin-left:.4rem!important}"
    ".depth-2{margin-left:.8rem!important}.depth-3{margin-left:1.2rem!important}"
    ".krs{grid-template-columns:1fr}}"
    "[hidden]{display:none!important}"
    ".auth{margin:.4rem 0;font-size:.85rem}.auth input{width:14rem;max-width:55%}"
    ".checkin{font-size:.85rem;margin:.35rem 0;padding:.3rem .5rem;background:var(--bg);"
    "border-radius:4px}"
    ".checkin .comment{margin:.2rem 0 0;white-space:pre-wrap;overflow-wrap:anywhere}"
    ".override{margin-top:.15rem}"
    ".ciform{font-size:.85rem;margin-top:.4rem}.ciform summary{cursor:pointer;color:#0969da}"
    ".ciform form{display:grid;gap:.3rem;margin-top:.3rem}"
    ".ciform label{display:flex;justify-content:space-between;align-items:center;gap:.5rem}"
    ".ciform input,.ciform select,.ciform textarea{font:inherit;width:62%}"
    ".ciform button{justify-self:start;font:inherit}"
    ".cimsg{margin:0;min-height:1.2em}.cimsg.err{color:#cf222e}.cimsg.ok{color:#1a7f37}"
    ".chart .mark line{stroke:#8250df;stroke-width:1;stroke-dasharray:2 2}"
    ".chart .mark path{fill:#8250df}"
    ".legend .l-mark{border-color:#8250df;border-top-style:dotted}"
    ".chart .band{fill:var(--c);fill-opacity:.15;stroke:none}"
    ".chart .p50{fill:none;stroke:var(--c);stroke-width:1.2;stroke-dasharray:5 3}"
    ".legend .l-band{border-top:6px solid #1a7f3740}"
    ".fc{font-size:.85rem;margin:.2rem 0}"
    "@media print{.auth,.ciform{display:none}"
    "body{background:#fff;font-size:11pt}section.objective{border-color:#999;"
    "break-inside:avoid-page}article.kr{break-inside:avoid}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    ".krs{grid-template-columns:repeat(2,1fr)}}";

/* The page's only script (see the header comment). Kept as JavaScript
 * lines, one per line of the literal, so `node --check` and a reader see
 * the same text the browser runs; changing a byte changes the CSP's hash
 * with it (api_dashboard_csp computes it from these bytes). */
const char api_dashboard_script[] =
    "(function(){\n"
    "'use strict';\n"
    "var KEY='okrd-token',NS='http://www.w3.org/2000/svg',DASH='\\u2013',DAY=864e5;\n"
    "var LABEL={invalid:'invalid',no_data:'no data',achieved:'achieved',missed:'missed',pending:'pending',on_track:'on track',at_risk:'at risk',off_track:'off track'};\n"
    "var W=320,H=160,X0=44,X1=312,Y0=12,Y1=132,MAXD=400;\n"
    "var krs={},units={},gen=0,nobj=0,evAt=NaN;\n"
    "function $(id){return document.getElementById(id)}\n"
    "function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=String(text);return e}\n"
    "function add(p,c){p.appendChild(c);return c}\n"
    "function sv(p,tag,a,text){var e=document.createElementNS(NS,tag);for(var k in a)e.setAttribute(k,a[k]);if(text!=null)e.textContent=String(text);if(p)p.appendChild(e);return e}\n"
    "function token(){try{return sessionStorage.getItem(KEY)||''}catch(x){return ''}}\n"
    "function setToken(t){try{if(t)sessionStorage.setItem(KEY,t);else sessionStorage.removeItem(KEY)}catch(x){}}\n"
    "function api(path,opt){\n"
    "opt=opt||{};var h=opt.headers||{},t=token();\n"
    "if(t)h.Authorization='Bearer '+t;\n"
    "opt.headers=h;opt.credentials='omit';opt.cache='no-store';\n"
    "return fetch(path,opt).then(function(r){return r.text().then(function(x){var j=null;try{j=JSON.parse(x)}catch(e){}return {status:r.status,body:j,retry:+r.headers.get('Retry-After')||1}})},function(e){return {status:0,body:{detail:'okrd did not answer ('+e.message+')'},retry:2}})}\n"
    "function detail(r){return r.body&&r.body.detail?r.body.detail:'HTTP '+r.status}\n"
    "function fin(v){return typeof v==='number'&&isFinite(v)}\n"
    "function trim(s){return s.indexOf('.')<0?s:s.replace(/0+$/,'').replace(/\\.$/,'')}\n"
    "function num(v){\n"
    "if(!fin(v))return DASH;\n"
    "var a=Math.abs(v),sg=v<0?'-':'',s;\n"
    "if(a<999.5){s=a===Math.floor(a)?a.toFixed(0):a>=0.01?trim(a.toFixed(a>=100?0:a>=10?1:2)):String(Number(a.toPrecision(2)));s=sg+s;return s==='-0'?'0':s}\n"
    "var u=-1,x=a;while(u<3&&x>=999.5){x/=1000;u++}\n"
    "if(x>=999.5)return sg+a.toPrecision(3);\n"
    "return sg+trim(x.toFixed(x<9.995?2:x<99.95?1:0))+'kMBT'.charAt(u)}\n"
    "function pct(v){\n"
    "if(!fin(v))return DASH;\n"
    "var p=v*100,s;\n"
    "if(Math.abs(p)>=999.5)return num(p)+'%';\n"
    "s=(Math.abs(p)>=9.95||p===Math.floor(p)?p.toFixed(0):trim(p.toFixed(1)))+'%';\n"
    "return s==='-0%'?'0%':s}\n"
    "function ms(t){return t?Date.parse(t):NaN}\n"
    "function now(){return Date.now()}\n"
    "function ago(t){var m=Math.round((now()-t)/60000);if(m<1)return 'just now';if(m<120)return m+' min ago';var h=Math.round(m/60);return h<48?h+' h ago':Math.round(h/24)+' days ago'}\n"
    "function when(t){return new Date(t).toISOString().slice(0,16).replace('T',' ')+' UTC'}\n"
    "function label(st){return el('span','status st-'+st,LABEL[st]||st)}\n"
    "var MON=['Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec'];\n"
    "function likely(kr){\n"
    "var f=kr.forecast;if(!f||!fin(f.probability))return '';\n"
    "var p=f.probability,r=Math.round(p*100),s=r<=0&&p>0?'<1%':r>=100&&p<1?'>99%':r+'%',t=fin(kr.target)?kr.target.toLocaleString('en-US',{maximumFractionDigits:2}):DASH;\n"
    "if(f.of==='share')return s+' likely to keep '+(kr.direction==='at_most'?'\\u2264 ':'\\u2265 ')+t+' on enough days';\n"
    "var d=(kr.cycle&&kr.cycle.end||'').split('-');\n"
    "return s+' likely to reach '+t+(d.length===3?' by '+(+d[2])+' '+MON[+d[1]-1]:' by the end')}\n"
    "function state(text){var p=$('state');p.textContent=text||'';p.hidden=!text}\n"
    "function showToken(){var t=!!token();$('tokenmsg').textContent=t?'A token is set for this tab.':'No token set: reads work without one on a loopback listener; check-ins need one with the \"checkin\" scope.';$('forget').hidden=!t}\n"
    "function askToken(msg){$('tokenmsg').textContent=msg;$('token').focus()}\n"
    "function load(){\n"
    "var g=++gen;krs={};units={};\n"
    "$('main').textContent='';$('summary').textContent='';$('meta').hidden=true;$('legend').hidden=true;\n"
    "state('Loading\\u2026');\n"
    "api('/api/v1/objectives').then(function(r){\n"
    "if(g!==gen)return;\n"
    "if(r.status===200&&r.body&&r.body.objectives)return render(r.body,g);\n"
    "if(r.status===401||r.status===403){state('This dashboard reads okrd\\u2019s API with a token: enter one with the \"read\" scope above. ('+r.status+': '+detail(r)+')');askToken(token()?'okrd refused this token.':'Enter a token.');return}\n"
    "if(r.status===503||r.status===0){state((r.status?detail(r):'okrd did not answer')+'; trying again\\u2026');setTimeout(function(){if(g===gen)load()},r.retry*1000);return}\n"
    "state('GET /api/v1/objectives: '+r.status+': '+detail(r))})}\n"
    "function tick(){var m=Math.round((Date.now()-evAt)/60000);if(isFinite(m))$('ago').textContent=m<1?'(just now)':m<120?'('+m+' min ago)':'('+Math.round(m/60)+' h ago)'}\n"
    "function summary(){\n"
    "var counts={},n=0,sum=$('summary');sum.textContent='';\n"
    "Object.keys(krs).forEach(function(id){var st=krs[id].kr.status;counts[st]=(counts[st]||0)+1;n++});\n"
    "$('counts').textContent='\\u00b7 '+nobj+' objectives \\u00b7 '+n+' key results';\n"
    "Object.keys(LABEL).forEach(function(st){if(counts[st]){var s=add(sum,el('span',null,counts[st]+' '));s.appendChild(label(st))}})}\n"
    "function depth(o,byId){var d=0;while(o&&o.parent&&byId[o.parent]&&d<3){o=byId[o.parent];d++}return d}\n"
    "function render(doc,g){\n"
    "state('');evAt=ms(doc.at);nobj=doc.objectives.length;\n"
    "var ev=$('evaluated'),byId={},queue=[];\n"
    "ev.textContent=doc.at;ev.setAttribute('datetime',doc.at);tick();$('meta').hidden=false;\n"
    "doc.objectives.forEach(function(o){byId[o.id]=o});\n"
    "var main=$('main');\n"
    "if(!doc.objectives.length)add(main,el('p','muted','No objectives are configured.'));\n"
    "doc.objectives.forEach(function(o){\n"
    "var sec=add(main,el('section','objective depth-'+depth(o,byId)+' st-'+o.status));sec.id='obj-'+o.id;\n"
    "add(sec,el('h2',null,o.title));\n"
    "var d=add(sec,el('div'));add(d,label(o.status));\n"
    "var c=o.key_results.length?o.key_results[0].cycle:null;\n"
    "var meta=' score '+pct(o.score)+' \\u00b7 projected '+pct(o.projected_score)+(c?' \\u00b7 '+c.start+' to '+c.end:'')+(o.parent&&byId[o.parent]?' \\u00b7 part of '+byId[o.parent].title:'');\n"
    "add(d,el('span','meta',meta));\n"
    "if(!o.key_results.length)return;\n"
    "var grid=add(sec,el('div','krs'));\n"
    "o.key_results.forEach(function(kr){grid.appendChild(card(kr));queue.push(kr.id)})});\n"
    "summary();\n"
    "$('legend').hidden=false;\n"
    "var jobs=[function(){return api('/api/v1/metrics').then(function(r){if(r.status===200&&r.body&&r.body.metrics){r.body.metrics.forEach(function(m){if(m.unit)units[m.id]=m.unit});Object.keys(krs).forEach(function(id){fill(krs[id])})}})}];\n"
    "queue.forEach(function(id){jobs.push(function(){return series(id,g)})});\n"
    "function next(){var j=jobs.shift();if(j&&g===gen)return j().then(next,next)}\n"
    "for(var i=0;i<3;i++)next()}\n"
    "function series(id,g){\n"
    "var path='/api/v1/key-results/'+encodeURIComponent(id);\n"
    "return Promise.all([api(path+'/series'),api(path+'/check-ins')]).then(function(rs){\n"
    "if(g!==gen||!krs[id])return;\n"
    "var k=krs[id];\n"
    "if(rs[0].status===503||rs[1].status===503){return new Promise(function(ok){setTimeout(ok,rs[0].retry*1000)}).then(function(){return series(id,g)})}\n"
    "k.se=rs[0].status===200?rs[0].body:null;\n"
    "k.seNote=rs[0].status===200?'':'series: '+detail(rs[0]);\n"
    "k.cis=rs[1].status===200&&rs[1].body&&rs[1].body.check_ins?rs[1].body.check_ins:[];\n"
    "draw(k)})}\n"
    "function card(kr){\n"
    "var a=el('article','kr');a.id='kr-'+kr.id;\n"
    "var k={kr:kr,el:a,se:null,cis:[],seNote:''};krs[kr.id]=k;\n"
    "k.h=add(a,el('h3'));k.top=add(a,el('div'));k.nums=add(a,el('p','nums'));k.fc=add(a,el('p','fc'));k.ci=add(a,el('div','checkin'));\n"
    "k.box=add(a,el('div','chartbox'));\n"
    "form(k);fill(k);draw(k);return a}\n"
    "function fill(k){\n"
    "var kr=k.kr,a=k.el,u=units[kr.metric]||'',sep=u===''||u==='%'?'':' ';\n"
    "a.className='kr st-'+kr.status;a.setAttribute('data-status',kr.status);\n"
    "k.h.textContent=kr.title;\n"
    "var t=k.top;t.textContent='';t.appendChild(label(kr.status));\n"
    "if(kr.computed_status&&kr.computed_status!==kr.status)add(t,el('span','flag','computed: '+(LABEL[kr.computed_status]||kr.computed_status)));\n"
    "if(kr.stale)add(t,el('span','flag','stale'));\n"
    "add(t,el('span','meta',' '+kr.id+' \\u00b7 '+kr.metric+(kr.owner?' \\u00b7 owner '+kr.owner:'')));\n"
    "var lvl=kr.direction==='at_least'||kr.direction==='at_most',p=k.nums;p.textContent='';\n"
    "add(p,document.createTextNode('value '));add(p,el('b',null,num(kr.value)));\n"
    "add(p,document.createTextNode(sep+u+' \\u00b7 target '+num(kr.target)+sep+u+' \\u00b7 '+(lvl?(kr.direction==='at_least'?'at least':'at most'):'baseline '+num(kr.baseline))));\n"
    "add(p,el('br'));\n"
    "add(p,document.createTextNode(lvl?'target met on '+pct(kr.projected_score)+' of days':pct(kr.progress)+' done \\u00b7 '+pct(kr.expected)+' expected \\u00b7 projected '+pct(kr.projected_score)));\n"
    "var lk=likely(kr);k.fc.textContent=lk?'Forecast: '+lk:'';k.fc.hidden=!lk;\n"
    "checkin(k)}\n"
    "function checkin(k){\n"
    "var c=k.kr.check_in,d=k.ci;d.textContent='';\n"
    "if(!c){add(d,el('span','muted','No check-in yet.'));return}\n"
    "var head=add(d,el('div','cihead'));\n"
    "add(head,el('b','author',c.author));\n"
    "var tm=add(head,el('time','ago',' \\u00b7 '+ago(ms(c.at))));tm.setAttribute('datetime',c.at);tm.title=when(ms(c.at));\n"
    "if(c.confidence!=null)add(head,el('span','conf',' \\u00b7 confidence '+c.confidence+'/10'));\n"
    "if(c.value!=null)add(head,el('span',null,' \\u00b7 value '+num(c.value)));\n"
    "if(c.grade!=null)add(head,el('span',null,' \\u00b7 grade '+c.grade));\n"
    "if(c.status){var o=add(d,el('div','override'));add(o,document.createTextNode('Override: '));add(o,label(c.status));add(o,document.createTextNode(c.override_until?' until '+when(ms(c.override_until)):' (ended)'))}\n"
    "if(c.comment!=null&&c.comment!=='')add(d,el('p','comment',c.comment))}\n"
    "function draw(k){\n"
    "var kr=k.kr,se=k.se||{},pts=se.points||[],pace=se.pace||[],cis=k.cis||[],band=kr.forecast&&kr.forecast.of==='value'?se.forecast_band||[]:[];\n"
    "var s=ms(kr.cycle.start+'T00:00:00Z'),e=ms(kr.cycle.end+'T00:00:00Z')+DAY;\n"
    "if(pace.length>=2){s=ms(pace[0].timestamp);e=ms(pace[pace.length-1].timestamp)}\n"
    "if(!(e>s))e=s+1;\n"
    "var lo=Infinity,hi=-Infinity,inside=[];\n"
    "function take(v){if(fin(v)){lo=Math.min(lo,v);hi=Math.max(hi,v)}}\n"
    "take(kr.baseline);take(kr.target);\n"
    "pts.forEach(function(p){var t=ms(p.timestamp);if(t>=s&&t<e&&fin(p.value)){inside.push([t,p.value]);take(p.value)}});\n"
    "pace.forEach(function(p){take(p.expected_value)});\n"
    "band.forEach(function(b){take(b.p10);take(b.p90)});\n"
    "if(!isFinite(lo)){lo=0;hi=1}\n"
    "if(hi-lo<=0){var pd=Math.abs(hi)>0?Math.abs(hi)*0.1:1;lo-=pd;hi+=pd}\n"
    "var pad=(hi-lo)*0.06;lo-=pad;hi+=pad;\n"
    "function px(t){var f=(t-s)/(e-s);return (X0+(f<0?0:f>1?1:f)*(X1-X0)).toFixed(1)}\n"
    "function py(v){var f=(v-lo)/(hi-lo);return (Y1-(f<0?0:f>1?1:f)*(Y1-Y0)).toFixed(1)}\n"
    "var g=sv(null,'svg',{'class':'chart',viewBox:'0 0 '+W+' '+H,role:'img','data-kr':kr.id});\n"
    "sv(g,'title',{},kr.title+': value '+num(kr.value)+', target '+num(kr.target)+', '+(LABEL[kr.status]||kr.status));\n"
    "sv(g,'rect',{'class':'plot',x:X0,y:Y0,width:X1-X0,height:Y1-Y0});\n"
    "sv(g,'text',{'class':'xlabel',x:X0,y:H-12},kr.cycle.start);\n"
    "sv(g,'text',{'class':'xlabel end',x:X1,y:H-12},kr.cycle.end);\n"
    "if(fin(kr.target)){var y=py(kr.target);sv(g,'line',{'class':'target',x1:X0,y1:y,x2:X1,y2:y});sv(g,'text',{'class':'ylabel t',x:X0-4,y:(+y+3.5).toFixed(1)},num(kr.target))}\n"
    "if(fin(kr.baseline)&&kr.baseline!==kr.target&&Math.abs(py(kr.baseline)-py(kr.target))>9)sv(g,'text',{'class':'ylabel b',x:X0-4,y:(+py(kr.baseline)+3.5).toFixed(1)},num(kr.baseline));\n"
    "if(pace.length>=2)sv(g,'polyline',{'class':'pace',points:pace.map(function(p){return px(ms(p.timestamp))+','+py(p.expected_value)}).join(' ')});\n"
    "if(band.length>=2){var fb=sv(g,'g',{'class':'forecast'});sv(fb,'title',{},'forecast: '+likely(kr)+' (80% band '+num(kr.forecast.p10)+DASH+num(kr.forecast.p90)+')');\n"
    "sv(fb,'path',{'class':'band',d:'M'+band.map(function(b){return px(ms(b.timestamp))+' '+py(b.p90)}).join('L')+'L'+band.slice().reverse().map(function(b){return px(ms(b.timestamp))+' '+py(b.p10)}).join('L')+'Z'});\n"
    "sv(fb,'polyline',{'class':'p50',points:band.map(function(b){return px(ms(b.timestamp))+','+py(b.p50)}).join(' ')})}\n"
    "var t0=now();\n"
    "if(t0>=s&&t0<=e){var x=px(t0);sv(g,'line',{'class':'today',x1:x,y1:Y0,x2:x,y2:Y1});sv(g,'text',{'class':'todaylabel',x:x,y:Y1+11},'today')}\n"
    "cis.forEach(function(c){var t=ms(c.at);if(!(t>=s&&t<e))return;var x=px(t);\n"
    "var m=sv(g,'g',{'class':'mark','data-at':c.at});\n"
    "sv(m,'title',{},'check-in by '+c.author+', '+when(t)+(c.confidence!=null?', confidence '+c.confidence+'/10':'')+(c.status?', '+LABEL[c.status]:'')+(c.comment?': '+c.comment:''));\n"
    "sv(m,'line',{x1:x,y1:Y0,x2:x,y2:Y1});sv(m,'path',{d:'M'+x+' '+Y1+'l4 6h-8z'})});\n"
    "var n=inside.length,step=n>MAXD?Math.ceil(n/MAXD):1;\n"
    "if(n>=2)sv(g,'polyline',{'class':'value',points:inside.filter(function(p,i){return i%step===0||i===n-1}).map(function(p){return px(p[0])+','+py(p[1])}).join(' ')});\n"
    "if(n)for(var i=n<=40?0:n-1;i<n;i++)sv(g,'circle',{'class':'dot',cx:px(inside[i][0]),cy:py(inside[i][1]),r:n<=40?'2.5':'3'});\n"
    "else sv(g,'text',{'class':'empty',x:(X0+X1)/2,y:Y1-8},k.se?'no data in this cycle yet':k.seNote||'loading\\u2026');\n"
    "k.box.textContent='';k.box.appendChild(g)}\n"
    "function form(k){\n"
    "var d=add(k.el,el('details','ciform'));add(d,el('summary',null,'Check in'));\n"
    "var f=add(d,el('form')),id=k.kr.id;f.noValidate=true;\n"
    "function field(lab,inp){var l=add(f,el('label',null,lab));l.appendChild(inp);return inp}\n"
    "var conf=field('Confidence (0\\u201310) ',el('input'));conf.type='number';conf.min='0';conf.max='10';conf.step='1';conf.name='confidence';\n"
    "var st=field('Status ',el('select'));st.name='status';\n"
    "[['','computed (no override)'],['on_track','on track'],['at_risk','at risk'],['off_track','off track']].forEach(function(o){var x=add(st,el('option',null,o[1]));x.value=o[0]});\n"
    "var val=field('Value ',el('input'));val.type='number';val.step='any';val.name='value';\n"
    "var com=field('Comment ',el('textarea'));com.name='comment';com.rows=2;\n"
    "var btn=add(f,el('button',null,'Check in'));btn.type='submit';\n"
    "var msg=add(f,el('p','cimsg'));msg.setAttribute('role','status');\n"
    "f.addEventListener('submit',function(ev){\n"
    "ev.preventDefault();\n"
    "var body={};\n"
    "if(conf.value!=='')body.confidence=Number(conf.value);\n"
    "else if(conf.validity&&conf.validity.badInput){msg.className='cimsg err';msg.textContent='confidence: not a number';return}\n"
    "if(st.value)body.status=st.value;\n"
    "if(val.value!=='')body.value=Number(val.value);\n"
    "else if(val.validity&&val.validity.badInput){msg.className='cimsg err';msg.textContent='value: not a number';return}\n"
    "if(com.value!=='')body.comment=com.value;\n"
    "if(!token()){msg.className='cimsg err';msg.textContent='A check-in needs an API token with the \"checkin\" scope: enter it above.';askToken('Enter a token with the \"checkin\" scope.');return}\n"
    "btn.disabled=true;msg.className='cimsg';msg.textContent='Sending\\u2026';\n"
    "api('/api/v1/key-results/'+encodeURIComponent(id)+'/check-ins',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(body)}).then(function(r){\n"
    "btn.disabled=false;\n"
    "if(r.status===201&&r.body&&r.body.key_result){\n"
    "k.kr=r.body.key_result;if(r.body.check_in)k.cis=[r.body.check_in].concat(k.cis||[]);\n"
    "fill(k);draw(k);summary();msg.className='cimsg ok';msg.textContent='Checked in.';conf.value='';st.value='';val.value='';com.value='';\n"
    "if(body.value!=null)series(id,gen);return}\n"
    "msg.className='cimsg err';\n"
    "msg.textContent='Refused ('+r.status+'): '+(r.body&&r.body.field?r.body.field+': ':'')+detail(r);\n"
    "if(r.status===401)askToken('okrd refused this token.')})})}\n"
    "$('auth').addEventListener('submit',function(ev){ev.preventDefault();var v=$('token').value.trim();$('token').value='';if(!v)return;setToken(v);showToken();load()});\n"
    "$('forget').addEventListener('click',function(){setToken('');showToken();load()});\n"
    "showToken();load();setInterval(tick,30000)\n"
    "})();\n";

static int hash_b64(const char *text, char *out, size_t size, struct okrd_err *err)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_Digest(text, strlen(text), d, &n, EVP_sha256(), NULL) != 1 || n != 32 || size < 45)
        return okrd_err_set(err, OKRD_EIO, "dashboard: SHA-256 of the inline %s failed",
                            text == api_dashboard_css ? "style" : "script");
    EVP_EncodeBlock((unsigned char *)out, d, (int)n);
    return 0;
}

int api_dashboard_csp(char *buf, size_t size, struct okrd_err *err)
{
    char js[64], st[64];
    int rc = hash_b64(api_dashboard_script, js, sizeof js, err);
    if (rc < 0 || (rc = hash_b64(api_dashboard_css, st, sizeof st, err)) < 0)
        return rc;
    int w = snprintf(buf, size,
                     "default-src 'none'; script-src 'sha256-%s'; style-src 'sha256-%s'; "
                     "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                     "form-action 'none'; frame-ancestors 'none'", js, st);
    return w > 0 && (size_t)w < size ? 0
         : okrd_err_set(err, OKRD_ERANGE, "dashboard: the CSP does not fit %zu bytes", size);
}

void api_buf_json_html(struct api_buf *b, const json_t *doc)
{
    char *text = doc ? okr_view_dump(doc, false) : NULL;
    if (!text) {
        b->failed = true;
        return;
    }
    for (const char *p = text; *p; p++) {
        if (*p == '<')
            api_buf_puts(b, "\\u003c");
        else if (*p == '>')
            api_buf_puts(b, "\\u003e");
        else if (*p == '&')
            api_buf_puts(b, "\\u0026");
        else
            api_buf_put(b, p, 1);
    }
    free(text);
}

void api_dashboard_write(struct api_buf *b)
{
    api_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                    "<title>okrd &middot; key results</title><style>");
    api_buf_puts(b, api_dashboard_css);
    /* Classes, not style="" attributes: the CSP allows the one hashed
     * <style> element and no inline style attribute. */
    api_buf_puts(b, "</style></head><body><header><h1>Key results</h1>"
                    "<form id=\"auth\" class=\"auth\"><label for=\"token\">API token</label> "
                    "<input id=\"token\" type=\"password\" autocomplete=\"off\" "
                    "spellcheck=\"false\"> <button type=\"submit\">Use token</button> "
                    "<button type=\"button\" id=\"forget\" hidden>Forget</button> "
                    "<span id=\"tokenmsg\" class=\"muted\"></span></form>"
                    "<p id=\"state\" class=\"muted\">Loading&hellip;</p>"
                    "<noscript><p>This page needs JavaScript: it reads okrd's API "
                    "(<a href=\"/api/v1/objectives\">/api/v1/objectives</a>).</p></noscript>"
                    "<p class=\"muted\" id=\"meta\" hidden>Evaluated at <time id=\"evaluated\">"
                    "</time> <span id=\"ago\"></span> <span id=\"counts\"></span></p>"
                    "<p class=\"summary\" id=\"summary\"></p>"
                    "<p class=\"legend\" id=\"legend\" hidden><i class=\"l-value\"></i>value"
                    "<i class=\"l-pace\"></i>pace<i class=\"l-target\"></i>target"
                    "<i class=\"l-today\"></i>today<i class=\"l-mark\"></i>check-in"
                    "<i class=\"l-band\"></i>forecast (80% band)</p>"
                    "</header><main id=\"main\"></main><footer><p class=\"muted\">okrd "
                    OKRD_VERSION " &middot; <a href=\"/api/v1/objectives\">JSON</a> &middot; "
                    "<a href=\"/retro\">retrospective</a> &middot; "
                    "<a href=\"/metrics\">metrics</a></p></footer><script>");
    api_buf_puts(b, api_dashboard_script);
    api_buf_puts(b, "</script></body></html>\n");
}

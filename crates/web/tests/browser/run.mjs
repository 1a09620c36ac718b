// cpts in a real browser: each demo role signs in through the real form, walks its pages, checks
// what it must and must not see, runs axe-core on every main page and saves screenshots to
// docs/screenshots/. Driven by crates/cli/tests/browser.rs, which starts `cpts serve --demo`.
//
// By hand, against a running demo server:
//   cargo run -- serve --demo | tee /tmp/serve.txt        (in another terminal)
//   node run.mjs --serve-output /tmp/serve.txt
// or: node run.mjs --url http://127.0.0.1:8080 --account coord.paris18=PASSWORD --account …
// Options: --screenshots DIR (default: the repository's docs/screenshots), --role SLUG (only
// that role; repeatable). Environment instead of options: CPTS_URL, CPTS_ACCOUNTS ("login=password"
// separated by spaces or newlines), CPTS_SCREENSHOTS, CPTS_ROLES.
//
// Journeys are lists of steps: one per role (ROLES below), then those across roles (ACROSS). A
// step is `step(title, async (t) => …)`; `t` is the role's tester (class Tester): t.page is the
// Playwright page, t.goto/t.see/t.hide/t.axe/t.shot do the usual checks. Steps run in order; the
// first failure skips the rest of its journey.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import UPNG from 'upng-js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// ---------------------------------------------------------------------------------------------
// Configuration

function options(argv, env) {
  const o = { url: env.CPTS_URL, accounts: {}, screenshots: env.CPTS_SCREENSHOTS, roles: [] };
  const addAccount = (s) => {
    const i = s.indexOf('=');
    if (i <= 0) throw new Error(`compte mal écrit (login=motdepasse attendu) : ${s}`);
    o.accounts[s.slice(0, i)] = s.slice(i + 1);
  };
  for (const a of (env.CPTS_ACCOUNTS ?? '').split(/\s+/).filter(Boolean)) addAccount(a);
  if (env.CPTS_ROLES) o.roles.push(...env.CPTS_ROLES.split(/[\s,]+/).filter(Boolean));
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`valeur manquante après ${flag}`);
    i++;
    if (flag === '--url') o.url = value;
    else if (flag === '--account') addAccount(value);
    else if (flag === '--screenshots') o.screenshots = value;
    else if (flag === '--role') o.roles.push(value);
    else if (flag === '--serve-output') Object.assign(o, parseServeOutput(readFileSync(value, 'utf8'), o));
    else throw new Error(`option inconnue : ${flag}`);
  }
  if (!o.url) throw new Error('adresse du serveur manquante (--url, CPTS_URL ou --serve-output)');
  o.url = o.url.replace(/\/+$/, '');
  o.screenshots = resolve(o.screenshots ?? join(here, '../../../../docs/screenshots'));
  return o;
}

// What `cpts serve --demo` prints: "  <login> <password>  <role> (<scope>)" then
// "cpts sert sur http://… (…)".
function parseServeOutput(text, o) {
  const accounts = { ...o.accounts };
  let url = o.url;
  for (const line of text.split('\n')) {
    const served = line.match(/^cpts sert sur (\S+)/);
    if (served) url = served[1];
    const account = line.match(/^ {2}(\S+)\s+(demo-\S+)\s{2}/);
    if (account) accounts[account[1]] = account[2];
  }
  return { url, accounts };
}

// ---------------------------------------------------------------------------------------------
// The tester: one browser context (its own cookies) per role.

class Failure extends Error {}

function check(ok, message) {
  if (!ok) throw new Failure(message);
}

class Tester {
  constructor(run, role, context, page) {
    Object.assign(this, { run, role, context, page });
    this.base = run.o.url;
    this.problems = []; // console errors, failed subresources: checked after each step
    page.on('console', (m) => {
      // A failed load is reported below with its address (the document's own status is checked
      // by goto); the browser's own /favicon.ico probe is not the application's.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) this.problems.push(`console : ${m.text()}`);
    });
    page.on('pageerror', (e) => this.problems.push(`erreur JavaScript : ${e.message}`));
    page.on('requestfailed', (r) => this.problems.push(`requête échouée : ${r.url()} (${r.failure()?.errorText})`));
    page.on('response', (r) => {
      if (r.request().resourceType() !== 'document' && r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') {
        this.problems.push(`ressource en erreur ${r.status()} : ${r.url()}`);
      }
    });
  }

  get login() {
    return this.role.login;
  }

  get password() {
    const p = this.run.o.accounts[this.role.login];
    check(p, `mot de passe de ${this.role.login} inconnu (comptes donnés : ${Object.keys(this.run.o.accounts).join(', ') || 'aucun'})`);
    return p;
  }

  path() {
    const u = new URL(this.page.url());
    return u.pathname + u.search;
  }

  /** Open a path; check the status (200 unless said) and that there is one h1. */
  async goto(path, { status = 200 } = {}) {
    const response = await this.page.goto(this.base + path, { waitUntil: 'load' });
    check(response, `aucune réponse pour ${path}`);
    check(response.status() === status, `${path} : statut ${response.status()}, attendu ${status} (arrivé sur ${this.path()})`);
    const h1 = await this.page.locator('h1').count();
    check(h1 === 1, `${path} : ${h1} titres h1 (un seul attendu)`);
    return response;
  }

  /** The visible text of the page's main region. */
  async text() {
    return (await this.page.locator('main').innerText()).replace(/\s+/g, ' ');
  }

  async h1() {
    return (await this.page.locator('h1').innerText()).trim();
  }

  /** Each string or regexp must appear in the main region's visible text. */
  async see(...wanted) {
    const text = await this.text();
    for (const w of wanted) {
      const found = w instanceof RegExp ? w.test(text) : text.includes(w);
      check(found, `${this.path()} : « ${w} » absent de la page. Texte : ${text.slice(0, 600)}…`);
    }
  }

  /** None of these may appear anywhere in the page's visible text (header and navigation too). */
  async hide(...unwanted) {
    const text = (await this.page.locator('body').innerText()).replace(/\s+/g, ' ');
    for (const u of unwanted) {
      const found = u instanceof RegExp ? u.test(text) : text.includes(u);
      check(!found, `${this.path()} : « ${u} » visible alors qu'il ne devrait pas l'être`);
    }
  }

  /** The header's text: who is signed in and with which roles. */
  async header() {
    return (await this.page.locator('header').innerText()).replace(/\s+/g, ' ');
  }

  /** The navigation's links, as their labels. */
  async nav() {
    return this.page.locator('nav.nav a').allInnerTexts();
  }

  /** axe-core on the current page: any serious or critical violation fails the step. */
  async axe() {
    // Evaluated through the DevTools protocol: the page's CSP (no inline script) is untouched.
    if (!(await this.page.evaluate(() => typeof window.axe !== 'undefined'))) await this.page.evaluate(AXE_SOURCE);
    const result = await this.page.evaluate(() =>
      window.axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }),
    );
    const where = this.path();
    const blocking = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const minor = result.violations.filter((v) => !blocking.includes(v));
    this.run.axeRuns++;
    for (const v of minor) this.run.note(`axe ${where} (${this.role.slug}) : ${v.impact} ${v.id} — ${v.help} (${v.nodes.length} élément(s))`);
    check(blocking.length === 0, `axe-core sur ${where} :\n${blocking.map(describeViolation).join('\n')}`);
  }

  /**
   * Full-page screenshot, 1280 wide (or `width`), to docs/screenshots/<name>.png: cut at
   * SHOT_MAX_HEIGHT (long tables add weight, not information) and reduced to 256 colours, so
   * that the files kept in the repository stay small. Notes a page wider than the window (on a
   * phone: content that needs sideways scrolling, WCAG 1.4.10).
   */
  async shot(name, { width = 1280, height = 800 } = {}) {
    const size = this.page.viewportSize();
    if (size?.width !== width) await this.page.setViewportSize({ width, height });
    const [scrollWidth, scrollHeight] = await this.page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]);
    if (scrollWidth > width) this.run.note(`${this.path()} (${this.role.slug}) déborde à ${width} px de large : la page en fait ${scrollWidth}`);
    const clip = scrollHeight > SHOT_MAX_HEIGHT ? { x: 0, y: 0, width: scrollWidth, height: SHOT_MAX_HEIGHT } : undefined;
    const png = await this.page.screenshot({ fullPage: true, clip, animations: 'disabled', caret: 'hide', scale: 'css' });
    if (size && size.width !== width) await this.page.setViewportSize(size);
    const file = join(this.run.o.screenshots, `${name}.png`);
    writeFileSync(file, quantize(png));
    this.run.shots.push(file);
  }

  /** Where the keyboard focus is, and whether a sighted user can see it. */
  async focus() {
    return this.page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const cs = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
      const onScreen = r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight;
      return {
        what: `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} « ${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40)} »`,
        id: el.id,
        visible: el.matches(':focus-visible') && (outline || cs.boxShadow !== 'none') && onScreen,
      };
    });
  }

  /** Press Tab until `selector` has the focus, checking at each stop that the focus shows. */
  async tabTo(selector, max = 15) {
    for (let i = 0; i < max; i++) {
      await this.page.keyboard.press('Tab');
      const f = await this.focus();
      check(f, 'la touche Tab ne donne le focus à aucun élément');
      check(f.visible, `focus invisible sur ${f.what}`);
      if (await this.page.locator(selector).evaluate((el) => el === document.activeElement)) return i + 1;
    }
    throw new Failure(`${selector} non atteint en ${max} appuis sur Tab`);
  }
}

const SHOT_MAX_HEIGHT = 2400;

/** The same picture in 256 colours (indexed PNG): about half the bytes, no visible change. */
function quantize(png) {
  const image = UPNG.decode(png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength));
  const [rgba] = UPNG.toRGBA8(image);
  return Buffer.from(UPNG.encode([rgba], image.width, image.height, 256));
}

function describeViolation(v) {
  const targets = v.nodes.slice(0, 5).map((n) => `      ${n.target.join(' ')}${n.failureSummary ? ' — ' + n.failureSummary.replace(/\s+/g, ' ') : ''}`);
  const more = v.nodes.length > 5 ? [`      … et ${v.nodes.length - 5} autre(s)`] : [];
  return [`  [${v.impact}] ${v.id} : ${v.help}`, ...targets, ...more, `      ${v.helpUrl}`].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Steps: small builders, then the journeys.

const step = (title, run) => ({ title, run });

const PROTECTED = ['/', '/cpts', '/cpts/cpts-paris-18'];

/** Sign in through the real form, by mouse or by keyboard only (Tab, typing, Enter). */
function signIn({ keyboard = false } = {}) {
  return step(keyboard ? 'se connecte au clavier seul' : 'se connecte', async (t) => {
    await t.goto('/connexion');
    if (keyboard) {
      await t.tabTo('#login');
      await t.page.keyboard.type(t.login);
      await t.page.keyboard.press('Tab');
      const f = await t.focus();
      check(f?.id === 'password' && f.visible, `après l'identifiant, Tab mène à ${f?.what ?? 'rien'} (mot de passe attendu, focus visible)`);
      await t.page.keyboard.type(t.password);
      await Promise.all([t.page.waitForURL((u) => u.pathname === '/'), t.page.keyboard.press('Enter')]);
    } else {
      await t.page.getByLabel('Identifiant').fill(t.login);
      await t.page.getByLabel('Mot de passe').fill(t.password);
      await Promise.all([t.page.waitForURL((u) => u.pathname === '/'), t.page.getByRole('button', { name: 'Se connecter' }).click()]);
    }
    check((await t.h1()) === 'Tableau de bord', `après connexion : « ${await t.h1()} » au lieu du tableau de bord`);
    const header = await t.header();
    check(header.includes(t.role.name) && header.includes(`(${t.login})`), `en-tête sans le nom ni l'identifiant : ${header}`);
    check(header.includes(`Rôles : ${t.role.grant}`), `en-tête sans le rôle « ${t.role.grant} » : ${header}`);
  });
}

/** The sign-in page itself: screenshot and axe (anonymous). */
const loginPage = () =>
  step('page de connexion (axe, capture)', async (t) => {
    await t.goto('/connexion');
    await t.axe();
    await t.shot('connexion');
  });

/** A wrong password is refused in place, the field marked, and the page stays accessible. */
const wrongPassword = () =>
  step('un mauvais mot de passe est refusé', async (t) => {
    await t.goto('/connexion');
    await t.page.getByLabel('Identifiant').fill(t.login);
    await t.page.getByLabel('Mot de passe').fill('pas-le-bon');
    const [response] = await Promise.all([t.page.waitForResponse((r) => r.request().method() === 'POST'), t.page.getByRole('button', { name: 'Se connecter' }).click()]);
    check(response.status() === 401, `mauvais mot de passe : statut ${response.status()}, 401 attendu`);
    await t.page.waitForLoadState('load');
    await t.see('Connexion refusée');
    check((await t.page.getByLabel('Identifiant').getAttribute('aria-invalid')) === 'true', "le champ identifiant n'est pas marqué aria-invalid");
    await t.axe();
  });

/**
 * A main page: open it, check its title and what must (see) and must not (hide) show, run axe,
 * and save its screenshot as <role>-<shot>.png. `phone`: one more screenshot 390 wide.
 */
function mainPage(path, { title, see = [], hide = [], shot, phone = false, more }) {
  return step(`ouvre ${path}`, async (t) => {
    await t.goto(path);
    const h1 = await t.h1();
    check(title instanceof RegExp ? title.test(h1) : h1 === title, `${path} : titre « ${h1} », attendu « ${title} »`);
    await t.see(...see);
    await t.hide(...hide);
    if (more) await more(t);
    await t.axe();
    if (shot) await t.shot(`${t.role.slug}-${shot}`);
    if (shot && phone) await t.shot(`${t.role.slug}-${shot}-mobile`, { width: 390, height: 844 });
  });
}

/** A page out of the role's scope answers 404 « Introuvable », naming nothing of it. */
const outOfScope = (path, ...secret) =>
  step(`${path} hors périmètre : 404`, async (t) => {
    await t.goto(path, { status: 404 });
    check((await t.h1()) === 'Introuvable', `${path} : titre « ${await t.h1()} », « Introuvable » attendu`);
    await t.hide(...secret);
    await t.axe();
  });

/** The navigation offers exactly these entries (only what the role may open). */
const navIs = (...labels) =>
  step(`menu : ${labels.join(', ')}`, async (t) => {
    await t.goto('/');
    const nav = await t.nav();
    check(JSON.stringify(nav) === JSON.stringify(labels), `menu ${JSON.stringify(nav)}, attendu ${JSON.stringify(labels)}`);
  });

/** The CPTS list shows exactly `count` CPTS of the role's scope. */
const listCount = (count) => async (t) => {
  await t.see(`${count} CPTS affichées sur ${count} de votre périmètre`);
  const rows = await t.page.locator('main table tbody tr').count();
  check(rows === count, `/cpts : ${rows} lignes, ${count} attendues`);
};

/** Sign out with the header's button; every protected page then sends to the sign-in page. */
const signOut = () =>
  step('se déconnecte ; les pages protégées renvoient à /connexion', async (t) => {
    const button = t.page.getByRole('button', { name: 'Se déconnecter' });
    if ((await button.count()) === 0) await t.goto('/'); // error pages have no account header
    await Promise.all([t.page.waitForURL((u) => u.pathname === '/connexion'), button.click()]);
    for (const path of PROTECTED) {
      await t.goto(path);
      const u = new URL(t.page.url());
      check(u.pathname === '/connexion', `${path} après déconnexion : arrivé sur ${t.path()}, /connexion attendu`);
      const back = u.searchParams.get('suite');
      check(path === '/' ? back === null : back === path, `${path} après déconnexion : suite=${back}`);
      await t.hide(t.role.name);
    }
  });

// The demo (cpts serve --demo): Paris data as of 25/10/2021, one account per role, clock on
// 15/01/2022 (the second contract year of Paris 18 is over).
const PARIS_CPTS = 17;
const P18 = 'CPTS Paris 18';

const ROLES = [
  {
    slug: 'coordinateur',
    login: 'coord.paris18',
    name: 'Coordinatrice CPTS Paris 18 (démo)',
    grant: 'coordinateur (CPTS cpts-paris-18)',
    steps: () => [
      loginPage(),
      signIn({ keyboard: true }),
      navIs('Tableau de bord', 'CPTS', 'Alertes', 'Simulation', 'Journal', "Jetons d'API"),
      mainPage('/', { title: 'Tableau de bord', see: ['1 CPTS', 'CPTS par étape'], hide: ['Paris 14'], shot: 'tableau-de-bord', phone: true }),
      mainPage('/cpts', { title: 'CPTS', see: [P18], hide: ['Paris 14', 'cpts-paris-14'], shot: 'cpts', more: listCount(1) }),
      mainPage('/cpts/cpts-paris-18', { title: P18, see: ['Identité', 'Territoire', 'Financement'], shot: 'cpts-paris-18' }),
      outOfScope('/cpts/cpts-paris-14', 'Paris 14'),
      signOut(),
    ],
  },
  {
    slug: 'membre',
    login: 'membre.paris18',
    name: 'Membre CPTS Paris 18 (démo)',
    grant: 'membre (CPTS cpts-paris-18)',
    steps: () => [
      wrongPassword(),
      signIn(),
      navIs('Tableau de bord', 'CPTS', 'Alertes', 'Simulation', "Jetons d'API"),
      mainPage('/', { title: 'Tableau de bord', see: ['1 CPTS'], hide: ['Paris 14'], shot: 'tableau-de-bord', phone: true }),
      mainPage('/cpts', { title: 'CPTS', see: [P18], hide: ['Paris 14'], shot: 'cpts', more: listCount(1) }),
      mainPage('/cpts/cpts-paris-18', { title: P18, see: ['Identité', 'Territoire'], shot: 'cpts-paris-18' }),
      outOfScope('/cpts/cpts-paris-14', 'Paris 14'),
      signOut(),
    ],
  },
  {
    slug: 'cpam',
    login: 'cpam.paris',
    name: 'Agent CPAM de Paris (démo)',
    grant: 'agent CPAM (département 75)',
    steps: () => [
      signIn(),
      navIs('Tableau de bord', 'CPTS', 'Alertes', 'Simulation', 'Journal', "Jetons d'API"),
      mainPage('/', { title: 'Tableau de bord', see: ['17 CPTS', '100,0 % de la population couverte', '75 Paris'], shot: 'tableau-de-bord', phone: true }),
      mainPage('/cpts', { title: 'CPTS', see: [P18, 'CPTS Paris 14'], shot: 'cpts', more: listCount(PARIS_CPTS) }),
      mainPage('/cpts/cpts-paris-18', { title: P18, see: ['Identité', 'Financement'], shot: 'cpts-paris-18' }),
      mainPage('/cpts/cpts-paris-14', { title: /Paris 14/, see: ['Identité'] }),
      signOut(),
    ],
  },
  {
    slug: 'ars',
    login: 'ars.idf',
    name: 'Agent ARS Île-de-France (démo)',
    grant: 'agent ARS (région 11)',
    steps: () => [
      signIn(),
      navIs('Tableau de bord', 'CPTS', 'Alertes', 'Simulation', 'Journal', "Jetons d'API"),
      mainPage('/', { title: 'Tableau de bord', see: ['17 CPTS', '16,9 % de la population couverte', '75 Paris'], shot: 'tableau-de-bord', phone: true }),
      mainPage('/cpts', { title: 'CPTS', see: [P18], shot: 'cpts', more: listCount(PARIS_CPTS) }),
      mainPage('/cpts/cpts-paris-18', { title: P18, see: ['Identité', 'Cycle de vie'], shot: 'cpts-paris-18' }),
      signOut(),
    ],
  },
  {
    slug: 'admin',
    login: 'admin',
    name: 'Administration nationale (démo)',
    grant: 'admin national (national)',
    steps: () => [
      signIn(),
      navIs('Tableau de bord', 'CPTS', 'Alertes', 'Simulation', 'Journal', 'Comptes', "Jetons d'API"),
      mainPage('/', { title: 'Tableau de bord', see: ['17 CPTS', '3,1 % de la population couverte'], shot: 'tableau-de-bord', phone: true }),
      mainPage('/cpts', { title: 'CPTS', see: [P18], shot: 'cpts', more: listCount(PARIS_CPTS) }),
      mainPage('/cpts/cpts-paris-18', { title: P18, see: ['Identité'], shot: 'cpts-paris-18' }),
      signOut(),
    ],
  },
];

// Journeys across roles, after each role's own: [role slug, step] in order, each role in its own
// context, still signed in from its previous step (sign in again after its own journey, which
// ends signed out). The first failure skips the rest of the journey. For example:
//   {
//     title: 'rapport annuel : dépôt, retour, validation',
//     steps: [
//       ['coordinateur', signIn()],
//       ['coordinateur', step('importe ses valeurs', async (t) => { … })],
//       ['coordinateur', step('dépose le rapport', async (t) => { … })],
//       ['cpam', signIn()],
//       ['cpam', step('renvoie le rapport', async (t) => { … })],
//       …
//     ],
//   },
/** Submit the form whose button reads `button`, and wait for the page it leads to. */
async function submit(t, button) {
  await Promise.all([t.page.waitForLoadState('load'), t.page.waitForNavigation(), t.page.getByRole('button', { name: button }).click()]);
}

const REPORT = '/cpts/cpts-paris-18/rapports/1/2';

// The values that complete the second contract year of Paris 18 (December 2020 to November
// 2021): the demo's synthetic values stop in September 2021.
const VALUES_CSV = [
  'CPTS;Indicateur;Période;Valeur;Numérateur;Dénominateur',
  'cpts-paris-18;patients_sans_mt_aides;2021-10;41;;',
  'cpts-paris-18;patients_sans_mt_aides;2021-11;44;;',
  'cpts-paris-18;snp_taux_reponse;2021-10;;71;100',
  'cpts-paris-18;snp_taux_reponse;2021-11;;74;100',
  'cpts-paris-18;campagnes_prevention;2021-T4;1;;',
  'cpts-paris-18;protocoles_pluripro;2021;3;;',
].join('\n');

const ACROSS = [
  {
    title: "l'année 2 de CPTS Paris 18 : valeurs, rapport, revue, validation, versement du solde",
    steps: [
      ['coordinateur', signIn()],
      ['coordinateur', step('importe les valeurs d\'octobre et novembre 2021 (CSV)', async (t) => {
        await t.goto('/cpts/cpts-paris-18/indicateurs');
        await t.page.locator('#fichier').setInputFiles({ name: 'valeurs-2021-T4.csv', mimeType: 'text/csv', buffer: Buffer.from(VALUES_CSV, 'utf8') });
        await submit(t, 'Importer');
        await t.see('6 valeur(s) enregistrée(s)');
        // An indicator of the contract only is named by its objective's label, as in the form.
        await t.see('Actions de prévention coordonnées (campagnes_prevention, nombre)');
        await t.hide('campagnes_prevention (8 valeurs)');
        await t.axe();
        await t.shot('coordinateur-indicateurs');
      })],
      ['coordinateur', step('rédige puis soumet le rapport de l\'année 2', async (t) => {
        await t.goto(REPORT);
        await submit(t, 'Enregistrer le brouillon');
        await t.see('Brouillon enregistré');
        await submit(t, 'Soumettre le rapport');
        await t.see('Rapport soumis');
      })],
      ['cpam', signIn()],
      ['cpam', step('renvoie le rapport à corriger, avec le motif', async (t) => {
        await t.goto(REPORT);
        await t.axe();
        await t.page.getByLabel('Ce qui est à corriger').fill('Préciser les actions de prévention menées au 4e trimestre.');
        await submit(t, 'Renvoyer « à corriger »');
        await t.see('Rapport renvoyé à la CPTS pour correction', 'Préciser les actions de prévention');
      })],
      ['coordinateur', step('corrige et soumet à nouveau', async (t) => {
        await t.goto(REPORT);
        await t.see('Préciser les actions de prévention');
        await submit(t, 'Enregistrer le brouillon');
        await submit(t, 'Soumettre le rapport');
        await t.see('Rapport soumis');
      })],
      ['cpam', step('valide le rapport', async (t) => {
        await t.goto(REPORT);
        await submit(t, 'Valider le rapport');
        await t.see('Rapport validé');
        await t.axe();
        await t.shot('cpam-rapport');
      })],
      ['cpam', step('enregistre le versement du solde de l\'année 2', async (t) => {
        await t.goto('/cpts/cpts-paris-18/financement');
        const option = t.page.locator('#line option', { hasText: 'année 2' }).filter({ hasText: 'solde' }).first();
        const value = await option.getAttribute('value');
        check(value, 'aucun solde de l\'année 2 à verser dans le formulaire');
        await t.page.locator('#line').selectOption(value);
        await t.page.getByLabel('Versé par (service ou agent)').fill('CPAM de Paris — service CPTS');
        await t.page.getByLabel('Référence du virement (facultatif)').fill('VIR-2022-0115');
        await submit(t, 'Enregistrer le versement');
        await t.see(`Versement enregistré sur la ligne n° ${value}`);
        await t.axe();
        await t.shot('cpam-financement');
      })],
      ['coordinateur', step('voit le versement reçu', async (t) => {
        await t.goto('/cpts/cpts-paris-18/financement');
        await t.see('CPAM Paris');
        const detail = t.page.getByRole('link', { name: /pourquoi ce montant/ }).first();
        check(await detail.count(), 'aucun lien « pourquoi ce montant »');
      })],
      ['ars', signIn()],
      ['ars', step('valide la lettre d\'intention de CPTS Paris 17', async (t) => {
        await t.goto('/cpts/cpts-paris-17/cycle');
        await t.axe();
        await t.page.locator('#step').selectOption('valider-lettre');
        await t.page.locator('#actor').selectOption('ars');
        await t.page.locator('#on').fill('10/01/2022');
        await t.page.locator('#by').fill('ARS Île-de-France — DD75');
        await t.page.locator('#document').fill('Courrier du 10/01/2022');
        await submit(t, 'Enregistrer l\'étape');
        await t.see('Étape enregistrée', 'Courrier du 10/01/2022');
        await t.shot('ars-cycle-de-vie');
      })],
    ],
  },
];

// ---------------------------------------------------------------------------------------------
// The run

class Run {
  constructor(o, browser) {
    Object.assign(this, { o, browser });
    this.testers = new Map(); // role slug → its Tester, made at its first step, kept to the end
    this.passed = 0;
    this.failed = [];
    this.skipped = 0;
    this.notes = [];
    this.shots = [];
    this.axeRuns = 0;
  }

  note(s) {
    this.notes.push(s);
  }

  /** The role's tester: its own browser context (cookies), so it stays signed in between steps. */
  async tester(role) {
    let t = this.testers.get(role.slug);
    if (!t) {
      const context = await this.browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, locale: 'fr-FR', timezoneId: 'Europe/Paris', reducedMotion: 'reduce' });
      context.setDefaultTimeout(30_000); // generous: CI shares 2 cores with the other tests
      t = new Tester(this, role, context, await context.newPage());
      this.testers.set(role.slug, t);
    }
    return t;
  }

  /** One journey: its steps in order; the first failure skips the rest of it. */
  async journey(j) {
    console.log(`\n${j.title}`);
    for (const [i, [role, s]] of j.steps.entries()) {
      const t = await this.tester(role);
      const label = j.roles > 1 ? `[${role.slug}] ${s.title}` : s.title;
      const started = Date.now();
      try {
        t.problems = [];
        await s.run(t);
        check(t.problems.length === 0, `erreurs dans le navigateur :\n  ${t.problems.join('\n  ')}`);
        this.passed++;
        console.log(`  ok    ${label} (${Date.now() - started} ms)`);
      } catch (e) {
        this.failed.push(`${j.title} — ${label}`);
        console.log(`  ÉCHEC ${label} (${Date.now() - started} ms)\n${indent(e instanceof Failure ? e.message : e.stack ?? String(e))}`);
        await this.evidence(t.page, role, s);
        const left = j.steps.length - i - 1;
        this.skipped += left;
        if (left) console.log(`  (${left} étape(s) suivante(s) de ce parcours non jouée(s))`);
        return;
      }
    }
  }

  async close() {
    for (const t of this.testers.values()) await t.context.close();
  }

  /** On failure: a screenshot and the HTML of the page, out of the repository. */
  async evidence(page, role, s) {
    const dir = join(tmpdir(), 'cpts-browser-failures');
    mkdirSync(dir, { recursive: true });
    const base = join(dir, `${role.slug}-${s.title.replace(/[^a-zA-Z0-9]+/g, '-')}`);
    try {
      await page.screenshot({ path: `${base}.png`, fullPage: true });
      writeFileSync(`${base}.html`, await page.content());
      console.log(`    page au moment de l'échec : ${base}.png, ${base}.html`);
    } catch (e) {
      console.log(`    (capture impossible : ${e.message})`);
    }
  }
}

function indent(s) {
  return s
    .split('\n')
    .map((l) => '    ' + l)
    .join('\n');
}

/** What to run: each role's own journey, then the journeys across roles, in order. */
function journeys(only) {
  const bySlug = new Map(ROLES.map((r) => [r.slug, r]));
  const own = ROLES.filter((r) => only.length === 0 || only.includes(r.slug)).map((r) => ({
    title: `${r.slug} (${r.login})`,
    roles: 1,
    steps: r.steps().map((s) => [r, s]),
  }));
  const across = ACROSS.filter((j) => only.length === 0 || j.steps.some(([slug]) => only.includes(slug))).map((j) => {
    const steps = j.steps.map(([slug, s]) => {
      const role = bySlug.get(slug);
      if (!role) throw new Error(`parcours « ${j.title} » : rôle inconnu ${slug}`);
      return [role, s];
    });
    return { title: j.title, roles: new Set(j.steps.map(([slug]) => slug)).size, steps };
  });
  return [...own, ...across];
}

async function main() {
  const o = options(process.argv.slice(2), process.env);
  const unknown = o.roles.filter((slug) => !ROLES.some((r) => r.slug === slug));
  if (unknown.length) throw new Error(`rôle(s) inconnu(s) : ${unknown.join(', ')} (rôles : ${ROLES.map((r) => r.slug).join(', ')})`);
  mkdirSync(o.screenshots, { recursive: true });
  const started = Date.now();
  // launch() gives Chromium a new, empty user-data-dir of its own (removed at close); every
  // role then gets its own context (cookies, storage).
  const browser = await chromium.launch({
    executablePath: process.env.CPTS_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const run = new Run(o, browser);
  console.log(`cpts dans Chromium ${browser.version()} sur ${o.url}`);
  try {
    for (const j of journeys(o.roles)) await run.journey(j);
  } finally {
    await run.close();
    await browser.close();
  }
  for (const n of run.notes) console.log(`note : ${n}`);
  console.log(`\n${run.shots.length} captures dans ${o.screenshots} ; axe-core ${run.axeRuns} fois ; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const skipped = run.skipped ? `, ${run.skipped} non jouées` : '';
  console.log(`navigateur : ${run.passed} étapes réussies, ${run.failed.length} en échec${skipped}${run.failed.length ? ' :\n  ' + run.failed.join('\n  ') : ''}`);
  return run.failed.length === 0;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error(`browser tests: ${e instanceof Failure ? e.message : e.stack ?? e}`);
    process.exit(2);
  },
);

// A territory's agenda, in two views the device remembers (localStorage):
// the week view, which for the current week lists what comes today, the
// rest of this calendar week (Monday to Sunday), the rest of this calendar
// month and, under "Plus tard", the next month, and for any other week its
// seven days; the month view, a grid whose days list their rendez-vous
// below when tapped. Both under day headers with a date badge; recurring
// occurrences are expanded by sync-core. Then the chantiers with their
// progress, and "Ajouter à mon calendrier". Days are the device's local
// days. A theme filter lives in the URL (`#/territoire/<doc>/theme/<theme>`),
// so it survives a visit to an action and can be shared; the view and the
// week or month shown do not.

import { useEffect, useRef, useState } from "preact/hooks";
import type { Driver } from "../driver";
import { Champ, Choix } from "../formulaire";
import type { RendezVous, Theme } from "../genere/agenda";
import { Icone } from "../icones";
import { aLeTheme, cleJour, jourEnLettres, libelles, moisEnLettres, periode, pluriel } from "../modele";
import { Abonnement, Chantiers, Grille, Journee, lundi, nombreRdv, parJour, plusJours, type Flux } from "./agenda-vues";

type Vue = "semaine" | "mois";

/** The rendez-vous of `tous` (in time order) that start in `[du, au)`. */
const dans = (tous: RendezVous[], du: Date, au: Date) => {
  const [debut, fin] = [du.getTime(), au.getTime()];
  return tous.filter((r) => {
    const d = Date.parse(r.occurrence.debut_utc);
    return d >= debut && d < fin;
  });
};
const CLE_VUE = "essaim.agenda.vue";
/** Rendez-vous (or chantiers) a list shows before « Voir … de plus »: a
 * busy territory lists hundreds in a month, which a phone would lay out,
 * and redraw at each change, for nothing. */
const RDV_PAR_SECTION = 40;

export function Territoire({ driver, doc, theme }: { driver: Driver; doc: string; theme?: string }) {
  const agenda = driver.agenda(doc);
  const nom = agenda?.profil?.nom;
  const [vue, setVue] = useState<Vue>(() => (localStorage.getItem(CLE_VUE) === "mois" ? "mois" : "semaine"));
  const [decalage, setDecalage] = useState(0);
  const [choisi, setChoisi] = useState<string>();
  const [jeton, setJeton] = useState<string>();
  const [deplies, setDeplies] = useState<ReadonlySet<string>>(new Set());
  // The list just extended: focus goes to its first new item, not back to
  // the page (the button it was on is gone).
  const etendue = useRef<string>();
  useEffect(() => {
    if (!etendue.current) return;
    document.querySelectorAll<HTMLElement>(`[data-liste="${etendue.current}"] .rdv-titre`)[RDV_PAR_SECTION]?.focus();
    etendue.current = undefined;
  }, [deplies]);
  useEffect(() => {
    if (nom) driver.storage.retenir({ doc, nom });
  }, [driver, doc, nom]);
  useEffect(() => {
    document.title = nom ? `${nom} · Essaim` : "Essaim";
  }, [nom]);
  useEffect(() => {
    void driver.storage.territoire(doc).then((t) => setJeton(t?.invitation));
  }, [driver, doc]);

  if (!agenda || !driver.hasDocument(doc)) {
    return driver.isUnavailable(doc) ? (
      <p role="alert">Ce territoire est introuvable&nbsp;: le lien est peut-être erroné, ou le territoire n'existe plus.</p>
    ) : (
      <p>Chargement du territoire…</p>
    );
  }
  const themes = libelles().theme;
  const filtre = theme && theme in themes ? (theme as Theme) : undefined;
  const retenue = (id: string, collection = "actions") =>
    !filtre || aLeTheme(collection, agenda.actions[id]?.portes_entree ?? [], filtre);
  const rendezVous = (du: Date, au: Date) =>
    driver.rendezVous(doc, du.getTime(), au.getTime()).filter((r) => retenue(r.id, r.collection));
  const prive = agenda.profil?.visibilite !== "public";
  const flux: Flux = { base: `${location.origin}/t/${doc}`, jeton: prive ? jeton : undefined };
  const maintenant = new Date();
  const aujourdhui = plusJours(maintenant, 0);
  const cleAujourdhui = cleJour(aujourdhui);
  const chantiers = Object.entries(agenda.actions).filter(([id, a]) => !a.rythme && !a.supprime && retenue(id));
  const filtrer = (valeur: string) => {
    location.hash = valeur ? `#/territoire/${doc}/theme/${valeur}` : `#/territoire/${doc}`;
  };
  const choisirVue = (v: Vue) => {
    localStorage.setItem(CLE_VUE, v);
    setVue(v);
    setDecalage(0);
    setChoisi(undefined);
    setDeplies(new Set());
  };
  const aller = (n: number) => {
    setDecalage(n);
    setChoisi(undefined);
    setDeplies(new Set());
  };
  const journees = (liste: RendezVous[]) =>
    [...parJour(liste)].map(([jour, l]) => <Journee key={jour} jour={jour} liste={l} agenda={agenda} doc={doc} flux={flux} />);
  /** « Voir … de plus » under list `id` of `n` items, if it is cut. */
  const plus = (id: string, n: number, combien: (n: number) => string) =>
    !deplies.has(id) &&
    n > RDV_PAR_SECTION && (
      <p class="actions">
        <button
          type="button"
          class="secondaire"
          onClick={() => {
            etendue.current = id;
            setDeplies(new Set(deplies).add(id));
          }}
        >
          Voir {combien(n - RDV_PAR_SECTION)} de plus
        </button>
      </p>
    );
  const section = (titre: string, id: string, liste: RendezVous[]) => (
    <section key={id} class="groupe" aria-labelledby={id} data-liste={id}>
      <h2 id={id}>{titre}</h2>
      {liste.length === 0 ? (
        <p class="vide">Aucun rendez-vous.</p>
      ) : (
        journees(deplies.has(id) ? liste : liste.slice(0, RDV_PAR_SECTION))
      )}
      {plus(id, liste.length, nombreRdv)}
    </section>
  );

  let titre: string;
  let contenu;
  if (vue === "semaine") {
    const debut = plusJours(lundi(aujourdhui), 7 * decalage);
    const fin = plusJours(debut, 7);
    if (decalage === 0) {
      // Today, the rest of the calendar week, the rest of the calendar
      // month, then the next month: each bound a local midnight.
      const demain = plusJours(aujourdhui, 1);
      const moisSuivant = new Date(aujourdhui.getFullYear(), aujourdhui.getMonth() + 1, 1);
      const apres = new Date(aujourdhui.getFullYear(), aujourdhui.getMonth() + 2, 1);
      const bornes: [string, Date, Date][] = [
        ["Aujourd'hui", aujourdhui, demain],
        ["Cette semaine", demain, fin],
        ["Ce mois-ci", fin, moisSuivant],
        ["Plus tard", fin > moisSuivant ? fin : moisSuivant, apres],
      ];
      const tous = rendezVous(aujourdhui, apres);
      titre = "À venir";
      contenu = bornes
        .filter(([, du, au]) => du < au)
        .map(([t, du, au], i) =>
          section(t, `groupe-${i}`, dans(tous, du, au)),
        );
    } else {
      titre = `Semaine ${periode(cleJour(debut), cleJour(plusJours(fin, -1)))}`;
      contenu = section(titre, "groupe-semaine", rendezVous(debut, fin));
    }
  } else {
    const premier = new Date(aujourdhui.getFullYear(), aujourdhui.getMonth() + decalage, 1);
    const finMois = new Date(premier.getFullYear(), premier.getMonth() + 1, 1);
    const jours: Date[] = [];
    for (let d = lundi(premier); d < finMois || jours.length % 7; d = plusJours(d, 1)) jours.push(d);
    const cles = jours.map(cleJour);
    const parJ = parJour(rendezVous(jours[0], plusJours(jours[jours.length - 1], 1)));
    const jour = choisi ?? (decalage === 0 ? cleAujourdhui : cleJour(premier));
    const liste = parJ.get(jour) ?? [];
    titre = moisEnLettres(cleJour(premier));
    contenu = (
      <>
        <Grille jours={jours} cles={cles} parJ={parJ} mois={premier.getMonth()} choisi={jour}
          aujourdhui={cleAujourdhui} agenda={agenda} choisir={setChoisi} />
        <section class="groupe" aria-labelledby="jour-choisi" aria-live="polite">
          <h2 id="jour-choisi">
            {jourEnLettres(jour)} · {nombreRdv(liste.length)}
          </h2>
          {liste.length > 0 && <Journee jour={jour} liste={liste} agenda={agenda} doc={doc} flux={flux} />}
        </section>
      </>
    );
  }
  const unite = vue === "semaine" ? "Semaine" : "Mois";

  return (
    <div class="agenda">
      <h1>{nom ?? "Territoire sans nom"}</h1>
      <p class="puces">
        <a class="bouton secondaire" href={`#/territoire/${doc}/profil`}>Profil et feuille de route</a>
        {driver.peutModifier(doc) && (
          <a class="bouton secondaire" href={`#/territoire/${doc}/inviter`}>
            <Icone nom="inviter" /> Inviter
          </a>
        )}
      </p>
      {driver.peutModifier(doc) ? (
        <a class="bouton flottant" href={`#/territoire/${doc}/nouvelle-action`}>
          <Icone nom="plus" /> Nouvelle action
        </a>
      ) : (
        <p class="note" data-testid="lecture-seule">
          {agenda.profil?.demonstration
            ? "Territoire de démonstration, aux personnes et rendez-vous inventés\u00a0: en lecture seule."
            : "Vous consultez ce territoire avec un lien d'habitant\u00a0: en lecture seule."}
        </p>
      )}
      {agenda.conflits.length > 0 && (
        <p role="note" class="note">
          {pluriel(agenda.conflits.length, "modification")} simultanée{agenda.conflits.length > 1 ? "s" : ""} à
          départager&nbsp;: ouvrez la fiche concernée.
        </p>
      )}
      <div class="barre-agenda">
        <div class="segments" role="group" aria-label="Affichage de l'agenda">
          <button type="button" aria-pressed={vue === "semaine"} onClick={() => choisirVue("semaine")}>
            <Icone nom="liste" /> Semaine
          </button>
          <button type="button" aria-pressed={vue === "mois"} onClick={() => choisirVue("mois")}>
            <Icone nom="grille" /> Mois
          </button>
        </div>
        <Champ id="filtre-theme" label="Thème">
          <Choix valeur={filtre ?? ""} choix={{ "": "Tous les thèmes", ...themes }} onChoix={filtrer} />
        </Champ>
      </div>
      <nav class="periode" aria-label={vue === "semaine" ? "Semaines" : "Mois"}>
        <button type="button" class="secondaire" aria-label={`${unite} précédent${vue === "semaine" ? "e" : ""}`} onClick={() => aller(decalage - 1)}>
          <Icone nom="retour" />
        </button>
        <p class="titre-periode" data-testid="titre-periode">
          {titre}
          {filtre && ` · ${themes[filtre]}`}
        </p>
        <button type="button" class="secondaire" aria-label={`${unite} suivant${vue === "semaine" ? "e" : ""}`} onClick={() => aller(decalage + 1)}>
          <Icone nom="suivant" />
        </button>
      </nav>
      {decalage !== 0 && (
        <p class="actions retour-aujourdhui">
          <button type="button" class="discret" onClick={() => aller(0)}>Revenir à aujourd'hui</button>
        </p>
      )}
      {contenu}
      <section class="groupe" aria-labelledby="titre-chantiers" data-liste="chantiers">
        <h2 id="titre-chantiers">Chantiers{filtre && ` · ${themes[filtre]}`}</h2>
        <Chantiers liste={deplies.has("chantiers") ? chantiers : chantiers.slice(0, RDV_PAR_SECTION)} doc={doc} />
        {plus("chantiers", chantiers.length, (n) => pluriel(n, "chantier"))}
      </section>
      <details class="carte abonnement">
        <summary>
          <Icone nom="calendrier_ajout" /> Ajouter à mon calendrier
        </summary>
        <Abonnement flux={flux} prive={prive} />
      </details>
    </div>
  );
}

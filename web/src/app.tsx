// The screens, French first, phone first. Routes live in the URL's hash
// (`#/territoire/<document>`), so every link opens the same cached shell,
// offline included. Everything shown comes from sync-core's read model.

import { useEffect, useState } from "preact/hooks";
import type { Driver, Etat } from "./driver";
import { phraseRythme } from "./pkg/wasm_client.js";
import type { TerritoireConnu } from "./storage";

interface Occurrence {
  origine: string;
  debut: string;
  fin: string;
  debut_utc: string;
  etat: string;
  deplacee: boolean;
  lieu?: string;
}
interface RendezVous {
  collection: string;
  id: string;
  titre: string;
  occurrence: Occurrence;
}
interface ValeurConcurrente {
  valeur: unknown;
  auteur?: string;
  date?: number;
}
interface Conflit {
  chemin: string;
  valeurs: ValeurConcurrente[];
}
interface Action {
  titre: string;
  description: string;
  rythme?: unknown;
  lieu?: { libelle: string };
  supprime?: boolean;
}
interface Agenda {
  profil?: { nom: string };
  actions: Record<string, Action>;
  conflits: Conflit[];
}

const ETATS: Record<string, string> = {
  programme: "",
  a_confirmer: "à confirmer",
  reprogramme: "reprogrammé",
  deplace_en_ligne: "en ligne",
  reporte: "reporté",
  complet: "complet",
  annule: "annulé",
};

function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

function useDriver(driver: Driver): Etat {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const unsubscribe = driver.subscribe(() => setVersion((v) => v + 1));
    // What changed between the first render and this subscription (a
    // document loaded from IndexedDB, say) would otherwise never show.
    setVersion((v) => v + 1);
    return unsubscribe;
  }, [driver]);
  return driver.etat;
}

export function App({ driver }: { driver: Driver }) {
  const etat = useDriver(driver);
  const route = useRoute();
  let page;
  if (route[0] === "territoire" && route[1] && !driver.openDocument(route[1])) {
    page = (
      <p role="alert">
        Ce lien n'est pas valide : il ne désigne aucun territoire. Vérifiez qu'il a été copié en entier.
      </p>
    );
  } else if (route[0] === "territoire" && route[1]) {
    const doc = route[1];
    if (route[2] === "nouvelle-action") page = <NouvelleAction driver={driver} doc={doc} />;
    else if (route[2] === "action" && route[3]) page = <FicheAction driver={driver} doc={doc} id={route[3]} />;
    else page = <Territoire driver={driver} doc={doc} />;
  } else {
    page = <Accueil driver={driver} />;
  }
  return (
    <>
      <header>
        <a href="#/" class="marque">
          Essaim
        </a>
        <Statut etat={etat} />
      </header>
      <main id="contenu">{page}</main>
    </>
  );
}

function Statut({ etat }: { etat: Etat }) {
  const heure = etat.derniereSynchro
    ? new Date(etat.derniereSynchro).toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" })
    : undefined;
  return (
    <p class="statut" role="status" aria-live="polite">
      <span class={etat.enLigne ? "en-ligne" : "hors-ligne"}>{etat.enLigne ? "En ligne" : "Hors ligne"}</span>
      {" · "}
      <span>{heure ? `synchronisé à ${heure}` : "jamais synchronisé"}</span>
      {" · "}
      <span data-testid="en-attente">
        {etat.enAttente === 0
          ? "aucune modification en attente"
          : `${etat.enAttente} modification${etat.enAttente > 1 ? "s" : ""} en attente`}
      </span>
    </p>
  );
}

function Accueil({ driver }: { driver: Driver }) {
  const [territoires, setTerritoires] = useState<TerritoireConnu[]>([]);
  const [nom, setNom] = useState("");
  const [lien, setLien] = useState("");
  const [erreurNom, setErreurNom] = useState<string>();
  const [erreurLien, setErreurLien] = useState<string>();
  useEffect(() => {
    driver.storage.territoires().then(setTerritoires);
  }, [driver]);

  const creer = async (event: Event) => {
    event.preventDefault();
    if (!nom.trim()) return setErreurNom("Donnez un nom au territoire.");
    try {
      const doc = driver.createTerritory({ nom: nom.trim() });
      await driver.storage.retenir({ doc, nom: nom.trim(), rejointLe: Date.now() });
      location.hash = `#/territoire/${doc}`;
    } catch (error) {
      setErreurNom(messageDe(error));
    }
  };
  const rejoindre = (event: Event) => {
    event.preventDefault();
    const doc = documentDuLien(lien);
    if (!doc) return setErreurLien("Ce lien n'est pas un lien de territoire Essaim.");
    location.hash = `#/territoire/${doc}`;
  };

  return (
    <>
      <h1>Vos territoires</h1>
      {territoires.length === 0 ? (
        <p>Vous n'avez encore rejoint aucun territoire.</p>
      ) : (
        <ul class="liste">
          {territoires.map((t) => (
            <li key={t.doc}>
              <a href={`#/territoire/${t.doc}`}>{t.nom}</a>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={creer} noValidate>
        <h2>Créer un territoire</h2>
        <Champ id="nom" label="Nom du territoire" erreur={erreurNom}>
          <input id="nom" value={nom} onInput={(e) => (setNom(e.currentTarget.value), setErreurNom(undefined))} />
        </Champ>
        <button type="submit">Créer le territoire</button>
      </form>
      <form onSubmit={rejoindre} noValidate>
        <h2>Rejoindre un territoire</h2>
        <Champ id="lien" label="Lien reçu" erreur={erreurLien}>
          <input
            id="lien"
            inputMode="url"
            value={lien}
            onInput={(e) => (setLien(e.currentTarget.value), setErreurLien(undefined))}
          />
        </Champ>
        <button type="submit">Rejoindre</button>
      </form>
    </>
  );
}

/** The document id of a territory link (`…#/territoire/<id>`), or of a bare id. */
export function documentDuLien(lien: string): string | undefined {
  const match = lien.trim().match(/(?:#\/territoire\/|automerge:|^)([1-9A-HJ-NP-Za-km-z]{20,60})(?:[/#?].*)?$/);
  return match?.[1];
}

function Territoire({ driver, doc }: { driver: Driver; doc: string }) {
  const agenda = driver.agenda(doc) as Agenda | undefined;
  const nom = agenda?.profil?.nom;
  useEffect(() => {
    if (nom) driver.storage.retenir({ doc, nom, rejointLe: Date.now() });
  }, [driver, doc, nom]);
  useEffect(() => {
    document.title = nom ? `${nom} · Essaim` : "Essaim";
  }, [nom]);

  if (!agenda || !driver.hasDocument(doc)) {
    return driver.isUnavailable(doc) ? (
      <p role="alert">Ce territoire est introuvable : le lien est peut-être erroné, ou le territoire n'existe plus.</p>
    ) : (
      <p>Chargement du territoire…</p>
    );
  }
  const debutJour = debutDuJour();
  const jour = 86_400_000;
  const rendezVous = driver.rendezVous(doc, debutJour, debutJour + 31 * jour) as RendezVous[];
  const groupes: [string, RendezVous[]][] = [
    ["Aujourd'hui", rendezVous.filter((r) => Date.parse(r.occurrence.debut_utc) < debutJour + jour)],
    [
      "Cette semaine",
      rendezVous.filter((r) => {
        const t = Date.parse(r.occurrence.debut_utc);
        return t >= debutJour + jour && t < debutJour + 7 * jour;
      }),
    ],
    ["Ce mois-ci", rendezVous.filter((r) => Date.parse(r.occurrence.debut_utc) >= debutJour + 7 * jour)],
  ];
  const chantiers = Object.entries(agenda.actions).filter(([, a]) => !a.rythme && !a.supprime);
  const lien = `${location.origin}/#/territoire/${doc}`;
  return (
    <>
      <h1>{nom ?? "Territoire sans nom"}</h1>
      <p>
        <a class="bouton" href={`#/territoire/${doc}/nouvelle-action`}>
          Nouvelle action
        </a>
      </p>
      {agenda.conflits.length > 0 && (
        <p role="note">
          {agenda.conflits.length} modification{agenda.conflits.length > 1 ? "s" : ""} simultanée
          {agenda.conflits.length > 1 ? "s" : ""} à départager : ouvrez la fiche concernée.
        </p>
      )}
      <h2>Rendez-vous</h2>
      {groupes.map(([titre, liste]) => (
        <section key={titre} aria-labelledby={`g-${titre}`}>
          <h3 id={`g-${titre}`}>{titre}</h3>
          {liste.length === 0 ? (
            <p>Aucun rendez-vous.</p>
          ) : (
            <ul class="liste">
              {liste.map((r) => (
                <li key={`${r.id}-${r.occurrence.debut}`}>
                  <a href={`#/territoire/${doc}/action/${r.id}`}>{r.titre}</a>{" "}
                  <span>{quand(r.occurrence.debut)}</span>
                  {ETATS[r.occurrence.etat] && <strong> · {ETATS[r.occurrence.etat]}</strong>}
                  {r.occurrence.deplacee && <strong> · déplacé</strong>}
                </li>
              ))}
            </ul>
          )}
        </section>
      ))}
      <h2>Chantiers</h2>
      {chantiers.length === 0 ? (
        <p>Aucun chantier en cours.</p>
      ) : (
        <ul class="liste">
          {chantiers.map(([id, a]) => (
            <li key={id}>
              <a href={`#/territoire/${doc}/action/${id}`}>{a.titre}</a>
            </li>
          ))}
        </ul>
      )}
      <h2>Inviter</h2>
      <p>
        Partagez ce lien : <code data-testid="lien-territoire">{lien}</code>
      </p>
    </>
  );
}

/** The rhythm as a French sentence, by sync-core. */
function phrase(rythme: unknown): string {
  try {
    return phraseRythme(JSON.stringify(rythme));
  } catch {
    return "Rythme illisible sur cet appareil (version plus récente ?)";
  }
}

/** The sentence of a rhythm being typed, or why it is not valid yet. */
function apercu(rythme: unknown): string {
  try {
    return phraseRythme(JSON.stringify(rythme));
  } catch (error) {
    return `Rythme pas encore valide : ${messageDe(error)}`;
  }
}

/** What an error says, for the person who caused it (the core's French text). */
function messageDe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Midnight today, local time (ms since the epoch). */
function debutDuJour(): number {
  const maintenant = new Date();
  return new Date(maintenant.getFullYear(), maintenant.getMonth(), maintenant.getDate()).getTime();
}

function quand(localIso: string): string {
  const [date, heure] = localIso.split("T");
  const [a, m, j] = date.split("-").map(Number);
  const jour = new Date(a, m - 1, j).toLocaleDateString("fr-FR", { weekday: "long", day: "numeric", month: "long" });
  return `${jour} à ${heure.slice(0, 5).replace(":", " h ")}`;
}

const RYTHMES: Record<string, string> = {
  aucun: "Une seule fois",
  hebdo: "Chaque semaine, le même jour",
  quinzaine: "Tous les 15 jours",
  mensuel: "Chaque mois, le même jour de la semaine (ex. 1er samedi)",
};
const JOURS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];

function NouvelleAction({ driver, doc }: { driver: Driver; doc: string }) {
  const [champs, setChamps] = useState({ titre: "", date: "", heure: "18:00", duree: "PT2H", rythme: "aucun", jusquau: "" });
  const [chantier, setChantier] = useState(false);
  const [erreurs, setErreurs] = useState<Record<string, string>>({});
  const [erreurGlobale, setErreurGlobale] = useState<string>();
  const maj = (nom: string) => (e: { currentTarget: { value: string } }) => {
    setChamps({ ...champs, [nom]: e.currentTarget.value });
    setErreurs({ ...erreurs, [nom]: "" });
  };

  const enregistrer = (event: Event) => {
    event.preventDefault();
    const trouvees: Record<string, string> = {};
    if (!champs.titre.trim()) trouvees.titre = "Le titre est obligatoire.";
    if (!chantier && !champs.date) trouvees.date = "Indiquez la date du premier rendez-vous.";
    if (!chantier && !/^\d\d:\d\d$/.test(champs.heure)) trouvees.heure = "Indiquez l'heure (HH:MM).";
    if (!chantier && champs.rythme !== "aucun" && !champs.jusquau)
      trouvees.jusquau = "Indiquez jusqu'à quand ce rendez-vous se répète.";
    if (!chantier && champs.jusquau && champs.date && champs.jusquau < champs.date)
      trouvees.jusquau = "La date de fin doit suivre la date de début.";
    setErreurs(trouvees);
    if (Object.keys(trouvees).length > 0) return;
    const valeur: Record<string, unknown> = { titre: champs.titre.trim() };
    if (!chantier) valeur.rythme = rythme(champs);
    valeur.nature = chantier ? "chantier_projet" : champs.rythme === "aucun" ? "rendez_vous_ponctuel" : "rendez_vous_recurrent";
    const id = idAleatoire();
    try {
      driver.apply(doc, { type: "creer", collection: "actions", id, valeur });
      location.hash = `#/territoire/${doc}`;
    } catch (error) {
      setErreurGlobale(messageDe(error));
    }
  };

  return (
    <form onSubmit={enregistrer} noValidate>
      <h1>Nouvelle action</h1>
      {erreurGlobale && <p role="alert">Action refusée : {erreurGlobale}</p>}
      <Champ id="titre" label="Titre" erreur={erreurs.titre}>
        <input id="titre" value={champs.titre} onInput={maj("titre")} />
      </Champ>
      <p>
        <input
          id="chantier"
          type="checkbox"
          checked={chantier}
          onChange={(e) => setChantier(e.currentTarget.checked)}
        />{" "}
        <label for="chantier">Chantier au long cours, sans date de rendez-vous</label>
      </p>
      {!chantier && (
        <>
          <Champ id="date" label="Date du premier rendez-vous" erreur={erreurs.date}>
            <input id="date" type="date" value={champs.date} onInput={maj("date")} />
          </Champ>
          <Champ id="heure" label="Heure de début" erreur={erreurs.heure}>
            <input id="heure" type="time" value={champs.heure} onInput={maj("heure")} />
          </Champ>
          <Champ id="duree" label="Durée">
            <select id="duree" value={champs.duree} onChange={maj("duree")}>
              <option value="PT1H">1 heure</option>
              <option value="PT2H">2 heures</option>
              <option value="PT3H">3 heures</option>
              <option value="PT4H">une demi-journée</option>
            </select>
          </Champ>
          <Champ id="rythme" label="Rythme">
            <select id="rythme" value={champs.rythme} onChange={maj("rythme")}>
              {Object.entries(RYTHMES).map(([valeur, libelle]) => (
                <option key={valeur} value={valeur}>
                  {libelle}
                </option>
              ))}
            </select>
          </Champ>
          {champs.rythme !== "aucun" && (
            <Champ id="jusquau" label="Jusqu'au" erreur={erreurs.jusquau}>
              <input id="jusquau" type="date" value={champs.jusquau} onInput={maj("jusquau")} />
            </Champ>
          )}
          {champs.date && (champs.rythme === "aucun" || champs.jusquau) && (
            <p aria-live="polite" data-testid="apercu-rythme">
              {apercu(rythme(champs))}
            </p>
          )}
        </>
      )}
      <button type="submit">Enregistrer l'action</button>{" "}
      <a href={`#/territoire/${doc}`}>Annuler</a>
    </form>
  );
}

function rythme(champs: { date: string; heure: string; duree: string; rythme: string; jusquau: string }) {
  const debut = `${champs.date}T${champs.heure}:00`;
  const [a, m, j] = champs.date.split("-").map(Number);
  const jour = JOURS[new Date(a, m - 1, j).getDay()];
  const rang = Math.ceil(j / 7);
  const regles: Record<string, object> = {
    hebdo: { freq: "WEEKLY", par_jour: [jour] },
    quinzaine: { freq: "WEEKLY", interval: 2, par_jour: [jour] },
    mensuel: { freq: "MONTHLY", par_jour: [`${rang > 4 ? -1 : rang}${jour}`] },
  };
  const regle = regles[champs.rythme];
  return {
    debut,
    fuseau: "Europe/Paris",
    duree: champs.duree,
    ...(regle ? { regle: { ...regle, jusqu_au: champs.jusquau } } : {}),
  };
}

function FicheAction({ driver, doc, id }: { driver: Driver; doc: string; id: string }) {
  const agenda = driver.agenda(doc) as Agenda | undefined;
  const action = agenda?.actions[id];
  const [titre, setTitre] = useState<string>();
  const [lieu, setLieu] = useState<string>();
  const [erreur, setErreur] = useState<string>();
  const [pause, setPause] = useState({ du: "", au: "" });
  if (!agenda || !action) return <p>Chargement de l'action…</p>;
  const conflits = agenda.conflits.filter((c) => c.chemin.startsWith(`actions/${id}/`));
  const tenter = (f: () => void) => {
    try {
      f();
      setErreur(undefined);
    } catch (error) {
      setErreur(messageDe(error));
    }
  };
  const modifier = (champs: Record<string, unknown>) =>
    tenter(() => driver.apply(doc, { type: "modifier", collection: "actions", id, champs }));
  const enregistrer = (event: Event) => {
    event.preventDefault();
    // Only the fields changed here are written, so that someone else's
    // concurrent edit of another field is kept.
    const champs: Record<string, unknown> = {};
    if (titre !== undefined) {
      if (!titre.trim()) return setErreur("Le titre est obligatoire.");
      if (titre.trim() !== action.titre) champs.titre = titre.trim();
    }
    if (lieu !== undefined && lieu.trim() !== (action.lieu?.libelle ?? "")) champs.lieu = { libelle: lieu.trim() };
    if (Object.keys(champs).length > 0) modifier(champs);
    setTitre(undefined);
    setLieu(undefined);
  };
  const debutJour = debutDuJour();
  const prochains = (driver.rendezVous(doc, debutJour, debutJour + 90 * 86_400_000) as RendezVous[])
    .filter((r) => r.collection === "actions" && r.id === id)
    .slice(0, 12);
  const occurrence = (origine: string, etat: string) =>
    tenter(() =>
      driver.apply(doc, { type: "modifier_occurrence", collection: "actions", id, origine, exception: { etat } }),
    );
  const pauser = (event: Event) => {
    event.preventDefault();
    if (!pause.du || !pause.au) return setErreur("Indiquez le début et la fin de la pause.");
    if (pause.au < pause.du) return setErreur("La fin de la pause doit suivre son début.");
    tenter(() => driver.apply(doc, { type: "pauser", collection: "actions", id, pause: { du: pause.du, au: pause.au } }));
  };
  return (
    <>
      <h1>{action.titre}</h1>
      <p>
        <a href={`#/territoire/${doc}`}>Retour à l'agenda</a>
      </p>
      {action.rythme ? <p data-testid="phrase-rythme">{phrase(action.rythme)}</p> : <p>Chantier au long cours.</p>}
      {action.lieu?.libelle && <p data-testid="lieu">Lieu : {action.lieu.libelle}</p>}
      {erreur && <p role="alert">{erreur}</p>}
      {prochains.length > 0 && (
        <section aria-labelledby="prochains">
          <h2 id="prochains">Prochains rendez-vous</h2>
          <ul class="liste">
            {prochains.map((r) => (
              <li key={r.occurrence.debut}>
                {quand(r.occurrence.debut)}
                {ETATS[r.occurrence.etat] && <strong> · {ETATS[r.occurrence.etat]}</strong>}{" "}
                {r.occurrence.etat === "annule" ? (
                  <button type="button" onClick={() => occurrence(r.occurrence.origine, "programme")}>
                    Rétablir le rendez-vous du {quand(r.occurrence.debut)}
                  </button>
                ) : (
                  <button type="button" onClick={() => occurrence(r.occurrence.origine, "annule")}>
                    Annuler le rendez-vous du {quand(r.occurrence.debut)}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
      {action.rythme !== undefined && (
        <form onSubmit={pauser} noValidate>
          <h2>Mettre le rythme en pause</h2>
          <Champ id="pause-du" label="Du">
            <input id="pause-du" type="date" value={pause.du} onInput={(e) => setPause({ ...pause, du: e.currentTarget.value })} />
          </Champ>
          <Champ id="pause-au" label="Au">
            <input id="pause-au" type="date" value={pause.au} onInput={(e) => setPause({ ...pause, au: e.currentTarget.value })} />
          </Champ>
          <button type="submit">Mettre en pause</button>
        </form>
      )}
      {conflits.map((c) => (
        <section key={c.chemin} class="conflit" aria-labelledby={`c-${c.chemin}`}>
          <h2 id={`c-${c.chemin}`}>Modifications simultanées : {c.chemin.split("/").slice(2).join(" / ")}</h2>
          <ul class="liste">
            {c.valeurs.map((v, i) => (
              <li key={i}>
                « {String(v.valeur)} » par {v.auteur ? v.auteur.slice(0, 8) : "inconnu"}{" "}
                <button type="button" onClick={() => modifier({ [c.chemin.split("/")[2]]: v.valeur })}>
                  Garder « {String(v.valeur)} »
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      <form onSubmit={enregistrer} noValidate>
        <h2>Modifier</h2>
        <Champ id="titre-action" label="Titre">
          <input id="titre-action" value={titre ?? action.titre} onInput={(e) => setTitre(e.currentTarget.value)} />
        </Champ>
        <Champ id="lieu-action" label="Lieu">
          <input
            id="lieu-action"
            value={lieu ?? action.lieu?.libelle ?? ""}
            onInput={(e) => setLieu(e.currentTarget.value)}
          />
        </Champ>
        <button type="submit">Enregistrer</button>
      </form>
    </>
  );
}

function Champ({ id, label, erreur, children }: { id: string; label: string; erreur?: string; children: preact.ComponentChildren }) {
  return (
    <p class="champ">
      <label for={id}>{label}</label>
      {children}
      {erreur && (
        <span class="erreur" id={`${id}-erreur`} role="alert">
          {erreur}
        </span>
      )}
    </p>
  );
}

function idAleatoire(): string {
  const octets = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(octets, (o) => o.toString(36).padStart(2, "0")).join("");
}
